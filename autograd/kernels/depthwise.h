// Depthwise convolution (groups == C): each input channel is convolved with its own small filters,
// directly, without im2col. A depthwise 3x3 does 9 multiply-adds per output value; laying those out
// as columns (9x the input) and calling GEMM with a 1-row weight matrix would cost more in memory
// traffic than the arithmetic itself.
//
// Shape legend
//   x [N, C, H, W]   w [C*m, 1, kh, kw]   b [C*m] or nullptr   out [N, C*m, Ho, Wo]
//   m = channel multiplier: output channel oc reads input channel oc / m (PyTorch's grouping with
//   groups == C and C_out = C*m). Geometry (stride, padding, dilation, Ho, Wo) as in im2col.h.
//
//   out[n,oc,oh,ow] = b[oc] + sum_{i,j} w[oc,i,j] x[n, oc/m, oh*sh-ph+i*dh, ow*sw-pw+j*dw]
//   dx[n,c,ih,iw]   = sum over (oc of c, i, j, oh, ow) reading (ih, iw) of w[oc,i,j] gout[n,oc,oh,ow]
//   dw[oc,i,j]      = sum_{n,oh,ow} gout[n,oc,oh,ow] x[n, oc/m, oh*sh-ph+i*dh, ow*sw-pw+j*dw]
//
// Threads: the forward splits the N*C*m output planes, the input gradient the N*C input planes, the
// weight gradient the C*m filters (summing n, oh, ow in a fixed order): bits independent of the
// thread count. Each fast kernel has a *_ref twin with one loop per index.
#pragma once
#include <cstdint>

#include "autograd/kernels/im2col.h"

namespace dg::kernels {

template <class T>
void depthwise_forward(const T* x, const T* w, const T* b, int64_t N, int64_t C, int64_t m, const ConvGeom& g, T* out);
template <class T>
void depthwise_forward_ref(const T* x, const T* w, const T* b, int64_t N, int64_t C, int64_t m, const ConvGeom& g,
                           T* out);

// dx [N, C, H, W], overwritten.
template <class T>
void depthwise_backward_input(const T* gout, const T* w, int64_t N, int64_t C, int64_t m, const ConvGeom& g, T* dx);
template <class T>
void depthwise_backward_input_ref(const T* gout, const T* w, int64_t N, int64_t C, int64_t m, const ConvGeom& g, T* dx);

// dw [C*m, 1, kh, kw], overwritten.
template <class T>
void depthwise_backward_weight(const T* gout, const T* x, int64_t N, int64_t C, int64_t m, const ConvGeom& g, T* dw);
template <class T>
void depthwise_backward_weight_ref(const T* gout, const T* x, int64_t N, int64_t C, int64_t m, const ConvGeom& g,
                                   T* dw);

namespace detail {
// The per-plane inner kernels (depthwise.cpp, and their AVX2/FMA versions in depthwise_avx2.cpp,
// used for f32 with a horizontal stride of 1, or 2 for the forward, whose `pad` buffer must then have
// 16 readable values after its end). `pad` is one input plane with its zero padding
// written out (Wp columns per row), so the loops need no bounds tests:
//   forward:  out[oh][ow] (+)= bias + sum_{i,j} w[i*kw+j] pad[(oh*sh + i*dh)*Wp + ow*sw + j*dw]
//   weight:   taps[i*kw+j]   = sum_{oh,ow} g[oh*Wo+ow] pad[(oh*sh + i*dh)*Wp + ow*sw + j*dw]
struct DwPlane {
  int64_t kh, kw, sh, sw, dh, dw, Ho, Wo, Wp;
};
void dw_plane_forward_avx2(const float* pad, const float* w, float bias, bool accumulate, const DwPlane& q, float* out);
void dw_plane_weight_avx2(const float* g, const float* pad, const DwPlane& q, float* taps);
}  // namespace detail

}  // namespace dg::kernels
