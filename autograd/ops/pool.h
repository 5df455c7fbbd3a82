// 2-D pooling with PyTorch's semantics (torch.nn.functional). Input [N,C,H,W] or [C,H,W]; the
// output keeps the input's rank. Size arguments are one value (used for both dims) or two (H, W).
// Output sizes, ceil_mode and the divisor rules: docs/pool.md. All differentiable w.r.t. the input.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace dg {

using Size2 = std::vector<int64_t>;  // {k} or {kh, kw}

// Max over each window (padding is -inf). stride empty = kernel_size. The gradient goes to the
// first maximum of each window (row-major scan; a NaN wins), accumulating where windows overlap.
Tensor max_pool2d(const Tensor& input, const Size2& kernel_size, const Size2& stride = {}, const Size2& padding = {0},
                  const Size2& dilation = {1}, bool ceil_mode = false);
// The same, plus the i64 indices of the maxima (flat ih * W + iw within each plane, as PyTorch's
// return_indices=True).
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, const Size2& kernel_size,
                                                  const Size2& stride = {}, const Size2& padding = {0},
                                                  const Size2& dilation = {1}, bool ceil_mode = false);
// Mean over each window. divisor_override > 0 replaces the divisor (0 = none, as PyTorch's None).
Tensor avg_pool2d(const Tensor& input, const Size2& kernel_size, const Size2& stride = {}, const Size2& padding = {0},
                  bool ceil_mode = false, bool count_include_pad = true, int64_t divisor_override = 0);
// Output cell (i, j) averages rows [floor(i H / OH), ceil((i+1) H / OH)) and the same for columns.
// An entry of output_size that is -1 keeps that input size (PyTorch's None).
Tensor adaptive_avg_pool2d(const Tensor& input, const Size2& output_size);

}  // namespace dg
