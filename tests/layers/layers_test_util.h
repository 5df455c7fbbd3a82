// The layer suite's own helper: a gradient check of a whole module (input AND parameters). Closeness
// and thread helpers are the shared ones of tests/support.h.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "autograd/generator.h"
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "layers/module.h"
#include "tests/support.h"

namespace dg::nn::testing {

// Central differences for every element of x and of every parameter of m (f64 module and input),
// against the tape, for L = sum(m(x) * u) with a random non-uniform u. Returns "" or the first
// mismatch. Also fails when the tape gives an all-zero gradient for a tensor whose numeric one is not.
// Runs on one OpenMP thread (restored after): thousands of tiny forwards, where thread start-up
// would dominate on a busy machine. The result does not depend on it (determinism).
inline std::string check_module_gradients(Module& m, const Tensor& x_in, double tol = 1e-6) {
  ScopedThreads one_thread(1);
  Tensor x = x_in.contiguous_copy_no_grad();
  x.set_requires_grad(true);
  Generator gen(77);
  Tensor y0;
  {
    NoGradGuard ng;
    y0 = m(x);
  }
  Tensor u = uniform(y0.shape(), 0.5, 1.5, gen, DType::f64);
  for (int64_t i = 0; i < u.numel(); ++i)
    if (gen.uniform01() < 0.5) u.data<double>()[i] *= -1;
  auto loss = [&] {
    NoGradGuard ng;
    return sum(mul(m(x), u)).item();
  };
  m.zero_grad();
  sum(mul(m(x), u)).backward();
  std::vector<std::pair<std::string, Tensor>> targets{{"input", x}};
  for (auto& p : m.named_parameters()) targets.push_back(p);
  for (auto& [name, t] : targets) {
    Tensor g = t.grad();
    double* p = t.data<double>();
    bool ana_zero = true, num_zero = true;
    for (int64_t j = 0; j < t.numel(); ++j) {
      const double orig = p[j], eps = 1e-6;
      p[j] = orig + eps;
      const double lp = loss();
      p[j] = orig - eps;
      const double lm = loss();
      p[j] = orig;
      const double num = (lp - lm) / (2 * eps), ana = g.defined() ? g.at(j) : 0.0;
      if (ana != 0) ana_zero = false;
      if (std::abs(num) > 1e-8) num_zero = false;
      if (!(std::abs(ana - num) <= tol * (1 + std::abs(num))))
        return name + "[" + std::to_string(j) + "]: analytic " + std::to_string(ana) + " vs numeric " +
               std::to_string(num);
    }
    if (ana_zero && !num_zero) return name + ": analytic gradient identically zero";
  }
  return "";
}

}  // namespace dg::nn::testing
