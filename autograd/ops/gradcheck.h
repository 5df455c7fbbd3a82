// gradcheck: compares the tape's gradients with central differences, in f64.
//
// For f(inputs) -> outputs and a random, non-uniform upstream gradient u (one per output), the scalar
// L = sum_k sum(outputs_k * u_k) is differentiated two ways: by backward(), and numerically by
// (L(x + eps e_j) - L(x - eps e_j)) / 2 eps for every element j of every input that requires grad.
// A guard fails the check when the analytic gradient is identically zero but the numeric one is not
// (a backward that forgot to propagate would otherwise pass trivially against a flat function).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace dg {

struct GradcheckOptions {
  double eps = 1e-6;   // central-difference step
  double atol = 1e-7;  // |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-5;
  uint64_t seed = 1234;  // for the upstream gradient
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0;
  std::string message;  // what failed: input, element, analytic vs numeric
};

using GradFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// inputs: f64 tensors; those with requires_grad set are checked. Integer outputs are ignored.
GradcheckResult gradcheck(const GradFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt = {});
// Convenience for single-output functions.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opt = {});

}  // namespace dg
