// 2-D convolutions with PyTorch's semantics (F.conv2d, F.conv_transpose2d). docs/conv.md explains
// im2col, col2im, groups, the depthwise and 1x1 paths.
//
// Shape legend
//   conv2d:            input [N, C, H, W]  weight [O, C/groups, kh, kw]      bias [O]  -> [N, O, Ho, Wo]
//                      Ho = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1   (Wo likewise)
//   conv_transpose2d:  input [N, C, H, W]  weight [C, O/groups, kh, kw]      bias [O]  -> [N, O, Ho, Wo]
//                      Ho = (H - 1) sh - 2 ph + dh (kh - 1) + oph + 1
// f32 and f64 compute in their own type (f64 through dgemm); f16/bf16 compute in f32 and round the
// result back. Gradients flow to input, weight and bias.
#pragma once
#include <cstdint>

#include "autograd/tensor.h"

namespace dg {

// A (height, width) pair; an int means the same value for both, as in PyTorch.
struct Hw {
  int64_t h = 0, w = 0;
  Hw(int64_t v) : h(v), w(v) {}  // NOLINT: implicit on purpose (conv2d(x, w, b, 2) like PyTorch)
  Hw(int64_t h_, int64_t w_) : h(h_), w(w_) {}
  bool operator==(const Hw&) const = default;
};

// out[n,o] = bias[o] + sum_{c in group(o)} weight[o, c] (*) input[n, c]    ((*) = cross-correlation)
// bias may be undefined (no bias).
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), Hw stride = 1, Hw padding = 0,
              Hw dilation = 1, int64_t groups = 1);

// PyTorch's string paddings: Padding::valid (no padding) or Padding::same (output size = input size;
// stride must be 1). When the total padding d*(k-1) is odd, "same" puts the extra row/column at the
// bottom/right, as PyTorch does. (`detgrad ref`: --attr padding=valid|same.)
enum class Padding { valid, same };
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Hw stride, Padding padding,
              Hw dilation = 1, int64_t groups = 1);

// The adjoint of conv2d with the same weight: its forward is conv2d's input gradient, its input
// gradient is conv2d's forward. output_padding (< stride or < dilation) adds rows/columns at the
// bottom/right, to pick one of the input sizes a strided conv2d maps to the same output size.
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), Hw stride = 1,
                        Hw padding = 0, Hw output_padding = 0, int64_t groups = 1, Hw dilation = 1);

}  // namespace dg
