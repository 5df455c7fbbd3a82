// GradScaler against torch.cuda.amp.GradScaler's rules: skip + backoff on inf/NaN, growth after
// growth_interval finite steps, exact unscale by powers of two, unscale-once-per-step, the skip
// sequence from 2^16 on a loss whose f16 gradients overflow, disabled pass-through, state round trip.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "autograd/amp/grad_scaler.h"
#include "autograd/autocast.h"
#include "autograd/ops.h"
#include "autograd/optim/clip.h"
#include "autograd/optim/sgd.h"
#include "tests/support.h"

using namespace dg;
using amp::GradScaler;
using amp::GradScalerOptions;

namespace {
Tensor param(std::initializer_list<double> v) { return tensor(v, {(int64_t)v.size()}).set_requires_grad(true); }
}  // namespace

TEST_CASE("grad scaler: an inf or NaN gradient skips the step (params and optimizer state unchanged), scale halves") {
  Tensor p = param({1.0, 2.0});
  optim::SGD opt(std::vector<Tensor>{p}, {.lr = 0.5, .momentum = 0.9});
  GradScaler scaler;
  CHECK(scaler.scale() == 65536.0);
  const double bad[] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()};
  for (double v : bad) {
    p.set_grad(tensor({v, 1.0}, {2}));
    const double before = scaler.scale();
    CHECK_FALSE(scaler.step(opt));
    CHECK(scaler.found_inf());
    scaler.update();
    CHECK(scaler.scale() == before / 2);
    CHECK(p.to_vector() == std::vector<double>{1.0, 2.0});
    CHECK(opt.step_count(0, 0) == 0);  // no momentum buffer was created
  }
  // a finite step goes through, with the unscaled gradient
  p.set_grad(tensor({16384.0, -16384.0}, {2}));  // = S * (1, -1) at S = 2^14
  CHECK(scaler.step(opt));
  scaler.update();
  CHECK(p.to_vector() == std::vector<double>{0.5, 2.5});
  CHECK(scaler.scale() == 16384.0);
  CHECK(scaler.growth_tracker() == 1);
}

TEST_CASE("grad scaler: x2 after growth_interval consecutive finite steps; an inf resets the count") {
  Tensor p = param({0.0});
  optim::SGD opt(std::vector<Tensor>{p}, {.lr = 0.0});
  GradScaler scaler({.init_scale = 8.0, .growth_interval = 3});
  auto finite_step = [&] {
    p.set_grad(tensor({1.0}, {1}));
    CHECK(scaler.step(opt));
    scaler.update();
  };
  finite_step();
  finite_step();
  CHECK(scaler.scale() == 8.0);
  CHECK(scaler.growth_tracker() == 2);
  finite_step();
  CHECK(scaler.scale() == 16.0);
  CHECK(scaler.growth_tracker() == 0);
  finite_step();
  finite_step();
  p.set_grad(tensor({std::numeric_limits<double>::infinity()}, {1}));
  CHECK_FALSE(scaler.step(opt));
  scaler.update();
  CHECK(scaler.scale() == 8.0);
  CHECK(scaler.growth_tracker() == 0);
  finite_step();
  finite_step();
  CHECK(scaler.scale() == 8.0);
  finite_step();
  CHECK(scaler.scale() == 16.0);
  // growth that would overflow f32 is not applied (PyTorch keeps the old scale)
  GradScaler big({.init_scale = std::ldexp(1.0, 127), .growth_interval = 1});
  p.set_grad(tensor({1.0}, {1}));
  big.step(opt);
  big.update();
  CHECK(big.scale() == std::ldexp(1.0, 127));
}

TEST_CASE("grad scaler: unscale divides the gradients exactly, once per step; clipping sees true gradients") {
  Tensor a = param({0.0, 0.0, 0.0}), b = param({0.0});
  Tensor c = param({5.0});  // no grad: ignored
  optim::SGD opt(std::vector<Tensor>{a, b, c}, {.lr = 1.0});
  GradScaler scaler({.init_scale = 1024.0});
  const std::vector<double> ga{3.0, -0.1, 1e-30}, gb{4.0};
  a.set_grad(mul(from_vector(ga, {3}), 1024.0));
  b.set_grad(mul(from_vector(gb, {1}), 1024.0));
  scaler.unscale(opt);
  CHECK(same_bytes(a.grad(), from_vector(ga, {3})));  // x 2^-10 is exact (1e-30 * 1024 stays normal in f32)
  CHECK(same_bytes(b.grad(), from_vector(gb, {1})));
  CHECK_FALSE(scaler.found_inf());
  CHECK_THROWS_WITH_PART(scaler.unscale(opt), "already called");
  // clip after unscale: the norm is the true one; step must not unscale again
  const double total = optim::clip_grad_norm({a, b, c}, 1.0);
  CHECK(total == doctest::Approx(std::sqrt(25.0 + 0.01)).epsilon(1e-6));
  const std::vector<double> clipped = a.grad().to_vector();
  CHECK(scaler.step(opt));
  CHECK(a.to_vector()[0] == doctest::Approx(-clipped[0]).epsilon(1e-12));
  CHECK(c.to_vector() == std::vector<double>{5.0});
  CHECK_THROWS_WITH_PART(scaler.step(opt), "already called");
  CHECK_THROWS_WITH_PART(scaler.unscale(opt), "after step()");
  scaler.update();
  CHECK_THROWS_WITH_PART(scaler.update(), "no unscale() or step()");
  // after update() a new step may unscale again
  a.set_grad(full({3}, 2048.0));
  scaler.unscale(opt);
  CHECK(a.grad().to_vector() == std::vector<double>(3, 2.0));
}

TEST_CASE("grad scaler: from 2^16, f16 gradients that overflow skip three steps, then training proceeds at 2^13") {
  // y = 4 (x w) with x w an f16 activation (autocast linear), loss = sum(y). The f16 gradient of y
  // is S and of x w is 4 S: at S = 2^16, 2^15, 2^14 one of them is >= 65520 and rounds to inf in f16;
  // at S = 2^13, 4 S = 32768 is finite.
  Tensor w = param({1.0});
  Tensor x = tensor({1.0}, {1, 1});
  optim::SGD opt(std::vector<Tensor>{w}, {.lr = 0.1});
  GradScaler scaler;
  std::vector<bool> stepped;
  std::vector<double> scales;
  for (int it = 0; it < 5; ++it) {
    opt.zero_grad();
    Tensor loss;
    {
      amp::Autocast ac(DType::f16);
      Tensor xw = linear(x, reshape(w, {1, 1}));
      REQUIRE(xw.dtype() == DType::f16);
      loss = sum(mul(xw, 4.0));
    }
    REQUIRE(loss.dtype() == DType::f32);
    scaler.scale(loss).backward();
    scales.push_back(scaler.scale());
    stepped.push_back(scaler.step(opt));
    scaler.update();
  }
  CHECK(stepped == std::vector<bool>{false, false, false, true, true});
  CHECK(scales == std::vector<double>{65536.0, 32768.0, 16384.0, 8192.0, 8192.0});
  CHECK(scaler.scale() == 8192.0);
  CHECK(scaler.growth_tracker() == 2);
  // two real steps of w -= 0.1 * 4 (the gradient, unscaled exactly)
  CHECK(w.item() == doctest::Approx(1.0 - 0.8).epsilon(1e-6));
}

TEST_CASE("grad scaler: a gradient below f16's range vanishes without scaling and survives with it") {
  // loss = 1e-8 * (x w) with x w an f16 activation: its gradient 1e-8 is below half the smallest f16
  // subnormal (2^-25 = 2.98e-8) and rounds to 0 unless the loss is scaled (2^16 * 1e-8 = 6.6e-4).
  for (bool scaled : {false, true}) {
    INFO("scaled ", scaled);
    Tensor w = param({1.0});
    Tensor x = tensor({1.0}, {1, 1});
    optim::SGD opt(std::vector<Tensor>{w}, {.lr = 1.0});
    GradScaler scaler({.enabled = scaled});
    Tensor loss;
    {
      amp::Autocast ac(DType::f16);
      loss = sum(mul(linear(x, reshape(w, {1, 1})).to(DType::f32), 1e-8));
    }
    scaler.scale(loss).backward();
    scaler.unscale(opt);
    if (scaled) CHECK(w.grad().item() == doctest::Approx(1e-8).epsilon(1e-3));  // one f16 rounding: 2^-11
    else CHECK(w.grad().item() == 0.0);                                         // the gradient was lost
    CHECK(scaler.step(opt));
    scaler.update();
  }
}

TEST_CASE("grad scaler: disabled is a pass-through") {
  Tensor p = param({1.0});
  optim::SGD opt(std::vector<Tensor>{p}, {.lr = 1.0});
  GradScaler scaler({.enabled = false});
  Tensor loss = sum(mul(p, 3.0));
  Tensor scaled = scaler.scale(loss);
  CHECK(scaled.impl() == loss.impl());
  CHECK(scaler.scale() == 1.0);
  scaled.backward();
  scaler.unscale(opt);  // no-op
  CHECK(p.grad().item() == 3.0);
  CHECK(scaler.step(opt));
  scaler.update();
  CHECK(p.item() == -2.0);
  // a disabled scaler steps even on inf (it does not look)
  p.set_grad(tensor({std::numeric_limits<double>::infinity()}, {1}));
  CHECK(scaler.step(opt));
  CHECK(std::isinf(p.item()));
}

TEST_CASE("grad scaler: state round trip (strings and JSON), bad states and options rejected") {
  Tensor p = param({0.0});
  optim::SGD opt(std::vector<Tensor>{p}, {.lr = 0.0});
  GradScaler a({.init_scale = 4096.0, .growth_factor = 4.0, .backoff_factor = 0.25, .growth_interval = 5});
  for (int i = 0; i < 3; ++i) {
    p.set_grad(tensor({1.0}, {1}));
    a.step(opt);
    a.update();
  }
  const auto sd = a.state_dict();
  CHECK(sd.at("scale") == "4096");
  CHECK(sd.at("growth_tracker") == "3");
  GradScaler b;
  b.load_state_dict(sd);
  CHECK(b.scale() == 4096.0);
  CHECK(b.growth_tracker() == 3);
  CHECK(b.options().growth_factor == 4.0);
  CHECK(b.options().backoff_factor == 0.25);
  CHECK(b.options().growth_interval == 5);
  GradScaler c;
  c.load_state_json(a.state_json());
  CHECK(c.state_dict() == sd);
  // two more finite steps grow both the original and the restored one identically
  for (GradScaler* s : {&a, &c})
    for (int i = 0; i < 2; ++i) {
      p.set_grad(tensor({1.0}, {1}));
      s->step(opt);
      s->update();
    }
  CHECK(a.scale() == 16384.0);
  CHECK(c.state_dict() == a.state_dict());

  auto broken = sd;
  broken.erase("growth_tracker");
  CHECK_THROWS_WITH_PART(b.load_state_dict(broken), "missing key 'growth_tracker'");
  broken = sd;
  broken["scale"] = "lots";
  CHECK_THROWS_WITH_PART(b.load_state_dict(broken), "'scale' is not a number");
  broken = sd;
  broken["growth_tracker"] = "5";
  CHECK_THROWS_WITH_PART(b.load_state_dict(broken), "0 <= tracker < interval");
  CHECK_THROWS_WITH_PART(b.load_state_json("{\"scale\": 2}"), "must be a string");
  CHECK_THROWS_WITH_PART(b.load_state_json("[1"), "not JSON");
  CHECK_THROWS_WITH_PART(GradScaler({.backoff_factor = 1.5}), "backoff_factor must be in (0, 1)");
  CHECK_THROWS_WITH_PART(GradScaler({.init_scale = 0.0}), "init_scale must be positive");
}
