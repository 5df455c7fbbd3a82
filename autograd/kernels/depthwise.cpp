#include "autograd/kernels/depthwise.h"

#include <omp.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "autograd/kernels/cpu.h"

#include "autograd/kernels/broadcast.h"

namespace dg::kernels {

namespace {

// Output positions o in [lo, hi) whose input coordinate o*s - p + off lies inside [0, n_in)
// (the same range as in im2col.cpp).
struct Range {
  int64_t lo, hi;
};
Range valid_range(int64_t n_out, int64_t n_in, int64_t s, int64_t p, int64_t off) {
  const int64_t a = p - off, b = n_in - 1 + p - off;
  if (b < 0) return {0, 0};
  int64_t lo = a <= 0 ? 0 : (a + s - 1) / s;
  int64_t hi = std::min(n_out, b / s + 1);
  return {std::min(lo, hi), hi};
}

bool go_parallel(int64_t work) { return work >= kParallelMin && !omp_in_parallel() && omp_get_max_threads() > 1; }

// ---- padded planes and the per-plane kernels ---------------------------------------------------
// Each kernel first copies the plane it reads into a per-thread buffer with its zero padding
// written out, so the inner loops run over plain rows without bounds tests (and vectorise).
template <class T>
T* plane_buffer(int64_t count) {
  thread_local std::vector<T> buf;
  if ((int64_t)buf.size() < count) buf.resize((size_t)count);
  return buf.data();
}

// dst [top + H + bottom, left + W + right] = x [H, W] surrounded by zeros.
template <class T>
void pad_plane(const T* x, int64_t H, int64_t W, int64_t top, int64_t bottom, int64_t left, int64_t right, T* dst) {
  const int64_t Wp = left + W + right;
  std::fill(dst, dst + top * Wp, T(0));
  for (int64_t r = 0; r < H; ++r) {
    T* d = dst + (top + r) * Wp;
    std::fill(d, d + left, T(0));
    std::copy(x + r * W, x + (r + 1) * W, d + left);
    std::fill(d + left + W, d + Wp, T(0));
  }
  std::fill(dst + (top + H) * Wp, dst + (top + H + bottom) * Wp, T(0));
}

using detail::DwPlane;

bool use_avx2(const DwPlane& q) { return has_avx2() && q.sw == 1; }
// The forward's AVX2 kernel also handles stride 2 (it reads 16 values and keeps the even ones, so the
// plane buffer carries kSlack values of slack after its end).
bool use_avx2_forward(const DwPlane& q) { return has_avx2() && (q.sw == 1 || q.sw == 2); }
constexpr int64_t kSlack = 16;

// out[oh][ow] (+)= bias + sum_{i,j} w[i,j] pad[oh*sh + i*dh][ow*sw + j*dw], tap after tap over the row.
template <class T>
void plane_forward(const T* pad, const T* w, T bias, bool accumulate, const DwPlane& q, T* out) {
  if constexpr (std::is_same_v<T, float>)
    if (use_avx2_forward(q)) return detail::dw_plane_forward_avx2(pad, w, bias, accumulate, q, out);
  for (int64_t oh = 0; oh < q.Ho; ++oh) {
    T* o = out + oh * q.Wo;
    if (!accumulate) std::fill(o, o + q.Wo, bias);
    for (int64_t i = 0; i < q.kh; ++i)
      for (int64_t j = 0; j < q.kw; ++j) {
        const T wv = w[i * q.kw + j];
        const T* src = pad + (oh * q.sh + i * q.dh) * q.Wp + j * q.dw;
        if (q.sw == 1) {
          for (int64_t ow = 0; ow < q.Wo; ++ow) o[ow] += wv * src[ow];
        } else {
          for (int64_t ow = 0; ow < q.Wo; ++ow) o[ow] += wv * src[ow * q.sw];
        }
      }
  }
}

// taps[i,j] = sum_{oh,ow} g[oh][ow] pad[oh*sh + i*dh][ow*sw + j*dw]. A float sum cannot be
// vectorised by the compiler without reordering it, so it runs in kLanes partial sums (lane l takes
// columns l, l + kLanes, ...) added in lane order at the end: a fixed order that vectorises.
template <class T>
void plane_weight(const T* g, const T* pad, const DwPlane& q, T* taps) {
  if constexpr (std::is_same_v<T, float>)
    if (use_avx2(q)) return detail::dw_plane_weight_avx2(g, pad, q, taps);
  constexpr int kLanes = 8;
  for (int64_t i = 0; i < q.kh; ++i)
    for (int64_t j = 0; j < q.kw; ++j) {
      T lane[kLanes] = {};
      T tail = 0;
      for (int64_t oh = 0; oh < q.Ho; ++oh) {
        const T* gr = g + oh * q.Wo;
        const T* src = pad + (oh * q.sh + i * q.dh) * q.Wp + j * q.dw;
        int64_t ow = 0;
        for (; ow + kLanes <= q.Wo; ow += kLanes)
          for (int l = 0; l < kLanes; ++l) lane[l] += gr[ow + l] * src[(ow + l) * q.sw];
        for (; ow < q.Wo; ++ow) tail += gr[ow] * src[ow * q.sw];
      }
      T acc = 0;
      for (int l = 0; l < kLanes; ++l) acc += lane[l];
      taps[i * q.kw + j] = acc + tail;
    }
}

DwPlane plane_of(const ConvGeom& g) { return {g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.Ho, g.Wo, g.W + 2 * g.pw}; }

}  // namespace

// ---- forward -----------------------------------------------------------------------------------
// One input plane per step (padded once, then read by its m output planes).
template <class T>
void depthwise_forward(const T* x, const T* w, const T* b, int64_t N, int64_t C, int64_t m, const ConvGeom& g, T* out) {
  const int64_t P = g.P(), taps = g.kh * g.kw, Hp = g.H + 2 * g.ph;
  const DwPlane q = plane_of(g);
#pragma omp parallel for schedule(static) if (go_parallel(N * C * m * P * taps))
  for (int64_t plane = 0; plane < N * C; ++plane) {
    const int64_t n = plane / C, c = plane % C;
    T* pad = plane_buffer<T>(Hp * q.Wp + kSlack);
    pad_plane(x + plane * g.H * g.W, g.H, g.W, g.ph, g.ph, g.pw, g.pw, pad);
    for (int64_t k = 0; k < m; ++k) {
      const int64_t oc = c * m + k;
      plane_forward(pad, w + oc * taps, b ? b[oc] : T(0), false, q, out + (n * C * m + oc) * P);
    }
  }
}

template <class T>
void depthwise_forward_ref(const T* x, const T* w, const T* b, int64_t N, int64_t C, int64_t m, const ConvGeom& g,
                           T* out) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oc = 0; oc < C * m; ++oc)
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          T acc = b ? b[oc] : T(0);
          for (int64_t i = 0; i < g.kh; ++i)
            for (int64_t j = 0; j < g.kw; ++j) {
              const int64_t ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
              if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                acc += w[(oc * g.kh + i) * g.kw + j] * x[((n * C + oc / m) * g.H + ih) * g.W + iw];
            }
          out[((n * C * m + oc) * g.Ho + oh) * g.Wo + ow] = acc;
        }
}

// ---- input gradient ----------------------------------------------------------------------------
// One input plane per step, fed by its m output planes. With stride 1 (and padding <= d*(k-1), as
// in every "same" conv) the input gradient is itself a correlation: of gout padded by
// d*(k-1) - p with the kernel rotated by 180 degrees,
//   dx[ih][iw] = sum_{i,j} w[kh-1-i][kw-1-j] gpad[ih + i*dh][iw + j*dw],
// so it runs on the forward's plane kernel. Otherwise the forward's loops run with source and
// destination swapped (a scatter, taps in the order k, i, oh, j, ow).
template <class T>
void depthwise_backward_input(const T* gout, const T* w, int64_t N, int64_t C, int64_t m, const ConvGeom& g, T* dx) {
  const int64_t P = g.P(), taps = g.kh * g.kw;
  // gout's padding: qh on top; at the bottom whatever reaches the last input row (more than qh when
  // conv_transpose2d's output_padding made the input taller than the smallest one with Ho outputs)
  const int64_t qh = g.dh * (g.kh - 1) - g.ph, qw = g.dw * (g.kw - 1) - g.pw;
  const int64_t qh_end = std::max<int64_t>(0, g.H + g.dh * (g.kh - 1) - g.Ho - qh);
  const int64_t qw_end = std::max<int64_t>(0, g.W + g.dw * (g.kw - 1) - g.Wo - qw);
  const bool as_correlation = g.sh == 1 && g.sw == 1 && qh >= 0 && qw >= 0;
  const DwPlane q{g.kh, g.kw, 1, 1, g.dh, g.dw, g.H, g.W, qw + g.Wo + qw_end};
#pragma omp parallel for schedule(static) if (go_parallel(N * C * m * P * taps))
  for (int64_t plane = 0; plane < N * C; ++plane) {
    const int64_t n = plane / C, c = plane % C;
    T* dxp = dx + plane * g.H * g.W;
    if (as_correlation) {
      const int64_t rows = qh + g.Ho + qh_end;
      T* gpad = plane_buffer<T>(rows * q.Wp + taps);
      T* flipped = gpad + rows * q.Wp;
      for (int64_t k = 0; k < m; ++k) {
        const int64_t oc = c * m + k;
        for (int64_t t = 0; t < taps; ++t) flipped[t] = w[oc * taps + (taps - 1 - t)];
        pad_plane(gout + (n * C * m + oc) * P, g.Ho, g.Wo, qh, qh_end, qw, qw_end, gpad);
        plane_forward(gpad, flipped, T(0), /*accumulate=*/k > 0, q, dxp);
      }
      continue;
    }
    std::fill(dxp, dxp + g.H * g.W, T(0));
    for (int64_t k = 0; k < m; ++k) {
      const int64_t oc = c * m + k;
      const T* gp = gout + (n * C * m + oc) * P;
      const T* wp = w + oc * taps;
      for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t oh = 0; oh < g.Ho; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* dst = dxp + ih * g.W;
          const T* src = gp + oh * g.Wo;
          for (int64_t j = 0; j < g.kw; ++j) {
            const T wv = wp[i * g.kw + j];
            const int64_t shift = j * g.dw - g.pw;
            const Range r = valid_range(g.Wo, g.W, g.sw, g.pw, j * g.dw);
            for (int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow * g.sw + shift] += wv * src[ow];
          }
        }
    }
  }
}

template <class T>
void depthwise_backward_input_ref(const T* gout, const T* w, int64_t N, int64_t C, int64_t m, const ConvGeom& g,
                                  T* dx) {
  std::fill(dx, dx + N * C * g.H * g.W, T(0));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oc = 0; oc < C * m; ++oc)
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        for (int64_t ow = 0; ow < g.Wo; ++ow)
          for (int64_t i = 0; i < g.kh; ++i)
            for (int64_t j = 0; j < g.kw; ++j) {
              const int64_t ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
              if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                dx[((n * C + oc / m) * g.H + ih) * g.W + iw] += w[(oc * g.kh + i) * g.kw + j] *
                                                                gout[((n * C * m + oc) * g.Ho + oh) * g.Wo + ow];
            }
}

// ---- weight gradient ---------------------------------------------------------------------------
// dw[oc] is a sum over images of per-plane tap sums (plane_weight), added in image order. One thread
// per filter oc.
template <class T>
void depthwise_backward_weight(const T* gout, const T* x, int64_t N, int64_t C, int64_t m, const ConvGeom& g, T* dw) {
  const int64_t P = g.P(), taps = g.kh * g.kw, Hp = g.H + 2 * g.ph;
  const DwPlane q = plane_of(g);
#pragma omp parallel for schedule(static) if (go_parallel(N * C * m * P * taps))
  for (int64_t oc = 0; oc < C * m; ++oc) {
    const int64_t c = oc / m;
    T* pad = plane_buffer<T>(Hp * q.Wp + taps);
    T* part = pad + Hp * q.Wp;
    T* d = dw + oc * taps;
    std::fill(d, d + taps, T(0));
    for (int64_t n = 0; n < N; ++n) {
      pad_plane(x + (n * C + c) * g.H * g.W, g.H, g.W, g.ph, g.ph, g.pw, g.pw, pad);
      plane_weight(gout + (n * C * m + oc) * P, pad, q, part);
      for (int64_t t = 0; t < taps; ++t) d[t] += part[t];
    }
  }
}

template <class T>
void depthwise_backward_weight_ref(const T* gout, const T* x, int64_t N, int64_t C, int64_t m, const ConvGeom& g,
                                   T* dw) {
  for (int64_t oc = 0; oc < C * m; ++oc)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        T acc = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t oh = 0; oh < g.Ho; ++oh)
            for (int64_t ow = 0; ow < g.Wo; ++ow) {
              const int64_t ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
              if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                acc += gout[((n * C * m + oc) * g.Ho + oh) * g.Wo + ow] * x[((n * C + oc / m) * g.H + ih) * g.W + iw];
            }
        dw[(oc * g.kh + i) * g.kw + j] = acc;
      }
}

#define DG_DEPTHWISE_INSTANTIATE(T)                                                                                  \
  template void depthwise_forward<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, const ConvGeom&, T*);  \
  template void depthwise_forward_ref<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, const ConvGeom&,   \
                                         T*);                                                                        \
  template void depthwise_backward_input<T>(const T*, const T*, int64_t, int64_t, int64_t, const ConvGeom&, T*);     \
  template void depthwise_backward_input_ref<T>(const T*, const T*, int64_t, int64_t, int64_t, const ConvGeom&, T*); \
  template void depthwise_backward_weight<T>(const T*, const T*, int64_t, int64_t, int64_t, const ConvGeom&, T*);    \
  template void depthwise_backward_weight_ref<T>(const T*, const T*, int64_t, int64_t, int64_t, const ConvGeom&, T*);
DG_DEPTHWISE_INSTANTIATE(float)
DG_DEPTHWISE_INSTANTIATE(double)
#undef DG_DEPTHWISE_INSTANTIATE

}  // namespace dg::kernels
