// Helpers shared by the nn-op suites (test_pool, test_interpolate, test_norm, test_dropout).
#pragma once
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "autograd/ops/gradcheck.h"
#include "autograd/ops.h"
#include "tests/support.h"

namespace nn_test {
using namespace dg;

// f64 values that are a shuffled ramp (gaps of 0.1 plus jitter): no ties, so max/argmax gradients are
// unambiguous under central differences.
inline Tensor distinct(const Shape& s, uint64_t seed, bool grad = true) {
  Generator gen(seed);
  const int64_t n = shape_numel(s);
  std::vector<double> v((size_t)n);
  for (int64_t i = 0; i < n; ++i) v[(size_t)i] = 0.1 * (double)(i - n / 2) + 0.01 * gen.uniform01();
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[(size_t)i], v[(size_t)gen.randint(0, i + 1)]);
  Tensor t = from_vector(v, s, DType::f64);
  if (grad) t.set_requires_grad(true);
  return t;
}

inline Tensor normal64(const Shape& s, uint64_t seed, double mean = 0, double std = 1, bool grad = true) {
  Generator gen(seed);
  Tensor t = normal(s, mean, std, gen, DType::f64);
  if (grad) t.set_requires_grad(true);
  return t;
}

// Gradcheck of a one-output function; reports the failure message.
inline void check_grad(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& xs) {
  GradcheckResult r = gradcheck(f, xs);
  CHECK_MESSAGE(r.ok, r.message);
}

using ::error_of;  // tests/support.h

inline std::vector<double> vals(const Tensor& t) { return t.to_vector(); }

}  // namespace nn_test
