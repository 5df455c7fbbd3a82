// LR schedules against torch.optim.lr_scheduler values (tests/optim/fixtures/schedules.json) and a
// few values worked by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/optim/schedule.h"
#include "autograd/optim/sgd.h"

using namespace dg;
using namespace dg::optim;
using nlohmann::json;

namespace {
SchedulePtr from_config(const json& c) {
  auto inner = [&](const std::string& kind) -> SchedulePtr {
    if (kind == "step") return step_lr(c["step_size"], c["gamma"]);
    if (kind == "multistep") return multistep_lr(c["milestones"].get<std::vector<int64_t>>(), c["gamma"]);
    return cosine_lr(c["t_max"], c["eta_min"]);
  };
  if (c.contains("warmup")) return warmup(c["warmup"], c["start_factor"], inner(c["then"]));
  if (c.contains("step_size")) return inner("step");
  if (c.contains("milestones")) return inner("multistep");
  return inner("cosine");
}
}  // namespace

TEST_CASE("schedule golden: step, multistep, cosine, warmup+cosine, warmup+multistep match PyTorch") {
  std::ifstream f(std::string(DETGRAD_SOURCE_DIR) + "/tests/optim/fixtures/schedules.json");
  REQUIRE(f.good());
  const json fx = json::parse(f);
  REQUIRE(fx["cases"].size() == 6);
  for (const json& c : fx["cases"]) {
    const std::string name = c["name"];
    CAPTURE(name);
    Tensor p = zeros({1}, DType::f64).set_requires_grad(true);
    SGD opt({p}, SGDOptions{.lr = fx["base_lr"].get<double>()});
    LRScheduler sched(opt, from_config(c["config"]));
    const auto want = c["lrs"].get<std::vector<double>>();
    for (size_t t = 0; t < want.size(); ++t) {
      CAPTURE(t);
      CHECK(std::fabs(opt.lr() - want[t]) <= 1e-12 * std::max(1e-3, want[t]) + 1e-17);
      sched.step();
    }
  }
}

TEST_CASE("schedule: hand-computed values, groups keep their own base lr, resume by set_last_step") {
  // cosine, base 1, eta_min 0, T_max 4: t=2 -> (1 + cos(pi/2))/2 = 0.5; t=4 -> 0; t=1 -> (1+sqrt(.5))/2
  auto cos4 = cosine_lr(4);
  CHECK(cos4->lr(1.0, 2) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(std::fabs(cos4->lr(1.0, 4)) < 1e-16);
  CHECK(cos4->lr(1.0, 1) == doctest::Approx((1 + std::sqrt(0.5)) / 2).epsilon(1e-15));
  // warm-up 4 steps from 0.25: 0.25, 0.4375, 0.625, 0.8125, then the constant 1
  auto w = warmup(4, 0.25);
  CHECK(w->lr(1.0, 0) == 0.25);
  CHECK(w->lr(1.0, 1) == 0.4375);
  CHECK(w->lr(1.0, 3) == 0.8125);
  CHECK(w->lr(1.0, 4) == 1.0);
  CHECK(w->lr(1.0, 100) == 1.0);

  Tensor a = zeros({2}).set_requires_grad(true), b = zeros({3}).set_requires_grad(true);
  SGD opt({ParamGroup{{a}, {"a"}, 0.1}, ParamGroup{{b}, {"b"}, 1.0}});
  LRScheduler sched(opt, step_lr(2, 0.5));
  for (int i = 0; i < 5; ++i) sched.step();  // t = 5: gamma^2
  CHECK(opt.lr(0) == doctest::Approx(0.025));
  CHECK(opt.lr(1) == doctest::Approx(0.25));
  LRScheduler resumed(opt, step_lr(2, 0.5));  // would take the current lrs as bases...
  (void)resumed;
  SGD fresh({ParamGroup{{a}, {"a"}, 0.1}, ParamGroup{{b}, {"b"}, 1.0}});
  LRScheduler again(fresh, step_lr(2, 0.5));
  again.set_last_step(5);
  CHECK(fresh.lr(0) == opt.lr(0));
  CHECK(fresh.lr(1) == opt.lr(1));
}

TEST_CASE("schedule: bad arguments are errors naming the schedule") {
  CHECK_THROWS_WITH_AS(step_lr(0), doctest::Contains("step_lr: step_size must be >= 1"), Error);
  CHECK_THROWS_WITH_AS(multistep_lr({3, 2}),
                       doctest::Contains("multistep_lr: milestones must be increasing, got [3,2]"), Error);
  CHECK_THROWS_WITH_AS(cosine_lr(0), doctest::Contains("cosine_lr: t_max"), Error);
  CHECK_THROWS_WITH_AS(warmup(5, 0.0), doctest::Contains("warmup: start_factor"), Error);
}
