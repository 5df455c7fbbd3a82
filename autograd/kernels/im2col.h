// im2col / col2im: convolution as a matrix product (docs/conv.md draws it out on a 4x4 image).
//
// Shape legend (one image; N and groups are handled by the caller, autograd/ops/conv.cpp)
//   C          input channels seen by this call (one group's worth)
//   H, W       input plane;  Ho, Wo  output plane;  P = Ho*Wo output positions
//   kh, kw     kernel;  sh, sw stride;  ph, pw padding;  dh, dw dilation
//   K = C*kh*kw  rows of the column matrix, one per (channel, kernel tap)
//
// im2col lays out every receptive field as a column:
//   cols[(c*kh + i)*kw + j][oh*Wo + ow] = x[c][oh*sh - ph + i*dh][ow*sw - pw + j*dw]   (0 outside)
// so that a convolution with weight w [O, C, kh, kw] (viewed as [O, K]) is one GEMM:
//   out [O, P] = w [O, K] @ cols [K, P]
// col2im is its adjoint (transpose): every column entry is added back onto the pixel it was read
// from. A pixel is read by several taps, so col2im ACCUMULATES (x += ...); the caller zeroes x.
//
// The column matrix may be one block of a wider matrix (several images side by side): ld_cols is
// the distance between its rows (>= P).
//
// Threads: im2col splits its K rows, col2im its C channels (each thread owns whole input planes, and
// every pixel's sum is formed in the same fixed order), so results never depend on the thread count.
#pragma once
#include <cstdint>

namespace dg::kernels {

// The geometry of one 2-D convolution, per image.
struct ConvGeom {
  int64_t H = 0, W = 0;    // input plane
  int64_t kh = 1, kw = 1;  // kernel
  int64_t sh = 1, sw = 1;  // stride
  int64_t ph = 0, pw = 0;  // zero padding on each side
  int64_t dh = 1, dw = 1;  // dilation
  int64_t Ho = 0, Wo = 0;  // output plane (conv_out_size, or set explicitly by conv_transpose2d)
  int64_t P() const { return Ho * Wo; }
};

// PyTorch's output size: floor((in + 2 pad - dil (k - 1) - 1) / stride) + 1 (may be <= 0: invalid).
int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil);

// cols [C*kh*kw, P] (row stride ld_cols) from x [C, H, W]. Overwrites every entry of cols.
template <class T>
void im2col(const T* x, int64_t C, const ConvGeom& g, T* cols, int64_t ld_cols);
// One block of the same matrix: rows [r0, r1), columns [p0, p1), written to cols [r1-r0, p1-p0]
// (row stride ld_cols). x is still the whole image [C, H, W]. Single-threaded: callers run blocks
// in parallel (autograd/ops/conv.cpp keeps a block small enough to stay in L2 for the GEMM).
template <class T>
void im2col_block(const T* x, const ConvGeom& g, int64_t r0, int64_t r1, int64_t p0, int64_t p1, T* cols,
                  int64_t ld_cols);
// The algorithmic reference: one loop per index, one bounds test per element.
template <class T>
void im2col_ref(const T* x, int64_t C, const ConvGeom& g, T* cols, int64_t ld_cols);

// x [C, H, W] += col2im(cols [C*kh*kw, P], row stride ld_cols). Accumulates.
template <class T>
void col2im(const T* cols, int64_t ld_cols, int64_t C, const ConvGeom& g, T* x);
template <class T>
void col2im_ref(const T* cols, int64_t ld_cols, int64_t C, const ConvGeom& g, T* x);
// x [C, H, W] += col2im of the block rows [r0, r1) x columns [p0, p1) given as cols [r1-r0, p1-p0].
// Single-threaded; blocks made of whole channels (r0, r1 multiples of kh*kw) touch disjoint planes.
template <class T>
void col2im_block(const T* cols, int64_t ld_cols, const ConvGeom& g, int64_t r0, int64_t r1, int64_t p0, int64_t p1,
                  T* x);

// ---- direct convolution: the plain loops that the im2col + GEMM path must reproduce ------------
// x [N, C, H, W], w [O, C/groups, kh, kw], b [O] or nullptr, out [N, O, Ho, Wo]:
//   out[n,o,oh,ow] = b[o] + sum_{c in group(o), i, j} w[o, c', i, j] x[n, c, oh*sh-ph+i*dh, ow*sw-pw+j*dw]
template <class T>
void conv2d_direct_ref(const T* x, const T* w, const T* b, int64_t N, int64_t C, int64_t O, int64_t groups,
                       const ConvGeom& g, T* out);
// Its gradients for an upstream gradient gout [N, O, Ho, Wo] (each output may be nullptr: skipped).
// dx [N, C, H, W], dw [O, C/groups, kh, kw], db [O]; all overwritten.
template <class T>
void conv2d_direct_backward_ref(const T* gout, const T* x, const T* w, int64_t N, int64_t C, int64_t O, int64_t groups,
                                const ConvGeom& g, T* dx, T* dw, T* db);

}  // namespace dg::kernels
