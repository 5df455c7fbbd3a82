// Shape ops. reshape/view share storage with their input; every other op here returns a contiguous
// copy (see NOTE [ Views and copies ] in autograd/tensor.h). All work on any dtype; gradients flow for
// floating-point inputs. Negative dims count from the end.
#pragma once
#include <vector>

#include "autograd/ops/reduce.h"
#include "autograd/tensor.h"

namespace dg {

Tensor reshape(const Tensor& x, const Shape& shape);  // one entry may be -1; shares storage
Tensor view(const Tensor& x, const Shape& shape);     // same as reshape (storage is always contiguous)
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor unsqueeze(const Tensor& x, int64_t dim);                 // insert a size-1 dim at `dim`
Tensor squeeze(const Tensor& x, int64_t dim);                   // drop `dim` if it has size 1
Tensor permute(const Tensor& x, const Dims& dims);              // out.shape[i] = x.shape[dims[i]] (copy)
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);  // swap two dims (copy)
Tensor expand(const Tensor& x, const Shape& size);              // broadcast to `size` (-1 keeps a dim) (copy)
Tensor cat(const std::vector<Tensor>& xs, int64_t dim = 0);     // join along an existing dim
Tensor stack(const std::vector<Tensor>& xs, int64_t dim = 0);   // join along a new dim
std::vector<Tensor> split(const Tensor& x, int64_t split_size,
                          int64_t dim = 0);  // pieces of split_size (last may be smaller)
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sections, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);  // torch.chunk's piece sizes
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
// x[..., start:end:step, ...] along dim, with Python's clamping of start/end (step > 0).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);  // index: 1-D i64/i32
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);        // out[..i..] = x[..index[..i..]..] on dim
// Constant padding; pad lists (before, after) pairs starting from the LAST dim, as F.pad. Negative
// amounts crop.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pad, double value = 0.0);

// Accumulating scatter (the adjoint of gather): out = zeros(shape); out[..index..] += src.
Tensor scatter_add_new(const Shape& shape, int64_t dim, const Tensor& index, const Tensor& src);

}  // namespace dg
