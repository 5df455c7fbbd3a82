// Reductions over dims. `dims` empty means all dims; negative dims count from the end; keepdim keeps
// reduced dims as size 1. Sums accumulate in f64 in a fixed order (bit-identical for any thread count).
#pragma once
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace dg {

using Dims = std::vector<int64_t>;

Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);  // empty reduction => NaN
// Variance with Bessel's correction by default: sum (x - mean)^2 / (N - correction).
Tensor var(const Tensor& x, const Dims& dims = {}, double correction = 1.0, bool keepdim = false);
// Largest / smallest value over dims (all ties share the gradient equally, as torch.amax).
Tensor amax(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
// torch.max(x, dim): values and i64 indices of the first maximum; the gradient goes to that index.
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);

// The adjoint of broadcasting: sums g down to `shape` (g's shape must broadcast from `shape`).
Tensor sum_to(const Tensor& g, const Shape& shape);

}  // namespace dg
