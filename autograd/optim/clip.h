// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ (1.13):
//   total = (sum over params of ||g||_2^2)^(1/2)     (accumulated in f64, in parameter order)
//   coef  = max_norm / (total + 1e-6); if coef < 1 every gradient is multiplied by coef.
// norm_type = inf uses total = max |g|. Parameters without .grad are ignored. Returns total.
// A non-finite total throws dg::Error when error_if_nonfinite, otherwise the grads are scaled by
// NaN/0 as PyTorch does (so the caller sees the problem).
#pragma once
#include <vector>

#include "autograd/tensor.h"

namespace dg::optim {

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                      bool error_if_nonfinite = false);
// The global norm alone (no scaling).
double grad_norm(const std::vector<Tensor>& params, double norm_type = 2.0);

}  // namespace dg::optim
