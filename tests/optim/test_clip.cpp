// clip_grad_norm against torch.nn.utils.clip_grad_norm_ (tests/optim/fixtures/clip.json), plus a
// hand-computed case.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "autograd/optim/clip.h"

using namespace dg;
using namespace dg::optim;
using nlohmann::json;

TEST_CASE("clip golden: scaled, untouched and inf-norm cases match PyTorch") {
  std::ifstream f(std::string(DETGRAD_SOURCE_DIR) + "/tests/optim/fixtures/clip.json");
  REQUIRE(f.good());
  const json fx = json::parse(f);
  for (const json& c : fx["cases"]) {
    const std::string name = c["name"];
    CAPTURE(name);
    std::vector<Tensor> ps;
    for (size_t i = 0; i < c["shapes"].size(); ++i) {
      Shape s = c["shapes"][i].get<Shape>();
      ps.push_back(zeros(s, DType::f64).set_requires_grad(true));
      ps.back().set_grad(from_vector(c["before"][i].get<std::vector<double>>(), s, DType::f64));
    }
    const double norm_type = c["norm_type"].is_string() ? std::numeric_limits<double>::infinity() : 2.0;
    const double total = clip_grad_norm(ps, c["max_norm"], norm_type);
    CHECK(total == doctest::Approx(c["total"].get<double>()).epsilon(1e-13));
    for (size_t i = 0; i < ps.size(); ++i) {
      auto want = c["after"][i].get<std::vector<double>>();
      auto got = ps[i].grad().to_vector();
      for (size_t k = 0; k < want.size(); ++k) CHECK(std::fabs(got[k] - want[k]) <= 1e-14);
    }
  }
}

TEST_CASE("clip: 3-4-5 by hand, params without grad ignored, f32, non-finite") {
  // grads (3) and (4): total 5; max_norm 1 -> coef 1 / (5 + 1e-6)
  Tensor a = zeros({1}).set_requires_grad(true), b = zeros({1}).set_requires_grad(true);
  Tensor c = zeros({2}).set_requires_grad(true);  // no grad
  a.set_grad(full({1}, 3.0));
  b.set_grad(full({1}, 4.0));
  CHECK(clip_grad_norm({a, b, c}, 1.0) == 5.0);
  CHECK(a.grad().item() == doctest::Approx(3.0 / (5 + 1e-6)).epsilon(1e-7));
  CHECK(b.grad().item() == doctest::Approx(4.0 / (5 + 1e-6)).epsilon(1e-7));
  CHECK_FALSE(c.grad().defined());
  // below the threshold: untouched bits
  a.set_grad(full({1}, 0.3));
  CHECK(clip_grad_norm({a}, 1.0) == doctest::Approx(0.3));
  CHECK(a.grad().item() == (double)0.3f);
  a.set_grad(full({1}, std::numeric_limits<double>::infinity()));
  CHECK_THROWS_WITH_AS(clip_grad_norm({a}, 1.0, 2.0, true), doctest::Contains("clip_grad_norm: the total norm"), Error);
  CHECK_THROWS_WITH_AS(grad_norm({a}, 1.0), doctest::Contains("norm_type must be 2 or inf"), Error);
}
