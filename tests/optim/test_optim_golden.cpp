// Optimizers against PyTorch 1.13: 10 f64 steps of SGD / Adam / AdamW with given gradients (some
// steps without a gradient), parameter groups; every parameter must agree to 1e-12 after every step.
// Fixtures: tests/optim/fixtures/optim.json, made by tests/optim/gen_golden_optim.py.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "autograd/optim/adam.h"
#include "autograd/optim/sgd.h"

using namespace dg;
using namespace dg::optim;
using nlohmann::json;

namespace {
json load_fixture(const std::string& name) {
  std::ifstream f(std::string(DETGRAD_SOURCE_DIR) + "/tests/optim/fixtures/" + name);
  REQUIRE(f.good());
  return json::parse(f);
}

Tensor from_json(const json& values, const json& shape) {
  return from_vector(values.get<std::vector<double>>(), shape.get<Shape>(), DType::f64);
}

std::unique_ptr<Optimizer> make_optimizer(const json& c, std::vector<Tensor>& params) {
  const json& o = c["options"];
  std::vector<ParamGroup> groups;
  if (c["groups"].is_null()) {
    groups.push_back(ParamGroup{params, {}});
  } else {
    for (size_t i = 0; i < params.size(); ++i) {
      ParamGroup g{{params[i]}, {}};
      const json& gj = c["groups"][i];
      if (gj.contains("lr")) g.lr = gj["lr"];
      if (gj.contains("weight_decay")) g.weight_decay = gj["weight_decay"];
      groups.push_back(g);
    }
  }
  const std::string kind = c["optimizer"];
  if (kind == "SGD") {
    SGDOptions s;
    s.lr = o.value("lr", s.lr);
    s.momentum = o.value("momentum", 0.0);
    s.dampening = o.value("dampening", 0.0);
    s.weight_decay = o.value("weight_decay", 0.0);
    s.nesterov = o.value("nesterov", false);
    s.maximize = o.value("maximize", false);
    return std::make_unique<SGD>(groups, s);
  }
  auto fill = [&](AdamOptions& a) {
    a.lr = o.value("lr", a.lr);
    if (o.contains("betas")) a.beta1 = o["betas"][0], a.beta2 = o["betas"][1];
    a.eps = o.value("eps", a.eps);
    a.weight_decay = o.value("weight_decay", a.weight_decay);
    a.amsgrad = o.value("amsgrad", false);
  };
  if (kind == "Adam") {
    AdamOptions a;
    fill(a);
    return std::make_unique<Adam>(groups, a);
  }
  AdamWOptions a;
  fill(a);
  return std::make_unique<AdamW>(groups, a);
}
}  // namespace

TEST_CASE("optim golden: SGD, Adam, AdamW agree with PyTorch to 1e-12 over 10 f64 steps") {
  const json fx = load_fixture("optim.json");
  REQUIRE(fx["cases"].size() >= 10);
  for (const json& c : fx["cases"]) {
    const std::string name = c["name"];
    CAPTURE(name);
    std::vector<Tensor> params;
    for (size_t i = 0; i < c["shapes"].size(); ++i) {
      params.push_back(from_json(c["init"][i], c["shapes"][i]));
      params.back().set_requires_grad(true);
    }
    auto opt = make_optimizer(c, params);
    for (size_t step = 0; step < c["grads"].size(); ++step) {
      for (size_t i = 0; i < params.size(); ++i) {
        const json& g = c["grads"][step][i];
        if (g.is_null()) params[i].zero_grad();
        else params[i].set_grad(from_json(g, c["shapes"][i]));
      }
      opt->step();
      for (size_t i = 0; i < params.size(); ++i) {
        const std::vector<double> want = c["after"][step][i].get<std::vector<double>>();
        const std::vector<double> got = params[i].to_vector();
        double worst = 0;
        for (size_t k = 0; k < want.size(); ++k) worst = std::max(worst, std::fabs(got[k] - want[k]));
        CAPTURE(step);
        CAPTURE(i);
        CHECK(worst <= 1e-12);
      }
      opt->zero_grad();
    }
  }
}
