#include "autograd/kernels/depthwise.h"

#include <omp.h>

#include <algorithm>

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

}  // namespace

// ---- forward -----------------------------------------------------------------------------------
// One output plane at a time (it stays in L1): start from the bias, then for every kernel row i and
// output row oh add w[i,j] times a shifted stretch of input row ih, for each j. With stride 1 the
// innermost loop is a contiguous multiply-add that the compiler vectorises. Each output value sums
// its taps in the order (i, j).
template <class T>
void depthwise_forward(const T* x, const T* w, const T* b, int64_t N, int64_t C, int64_t m, const ConvGeom& g,
                       T* out) {
  const int64_t planes = N * C * m, P = g.P(), taps = g.kh * g.kw;
#pragma omp parallel for schedule(static) if (go_parallel(planes * P * taps))
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int64_t n = plane / (C * m), oc = plane % (C * m), c = oc / m;
    const T* xp = x + (n * C + c) * g.H * g.W;
    const T* wp = w + oc * taps;
    T* op = out + plane * P;
    std::fill(op, op + P, b ? b[oc] : T(0));
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        const int64_t ih = oh * g.sh - g.ph + i * g.dh;
        if (ih < 0 || ih >= g.H) continue;
        const T* src = xp + ih * g.W;
        T* dst = op + oh * g.Wo;
        for (int64_t j = 0; j < g.kw; ++j) {
          const T wv = wp[i * g.kw + j];
          const int64_t shift = j * g.dw - g.pw;
          const Range r = valid_range(g.Wo, g.W, g.sw, g.pw, j * g.dw);
          if (g.sw == 1) {
            for (int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow] += wv * src[ow + shift];
          } else {
            for (int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow] += wv * src[ow * g.sw + shift];
          }
        }
      }
  }
}

template <class T>
void depthwise_forward_ref(const T* x, const T* w, const T* b, int64_t N, int64_t C, int64_t m,
                           const ConvGeom& g, T* out) {
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
// The forward's loops with source and destination swapped: one input plane per thread, fed by its m
// output planes, taps in a fixed order (k, i, oh, j, ow).
template <class T>
void depthwise_backward_input(const T* gout, const T* w, int64_t N, int64_t C, int64_t m, const ConvGeom& g,
                              T* dx) {
  const int64_t planes = N * C, P = g.P(), taps = g.kh * g.kw;
#pragma omp parallel for schedule(static) if (go_parallel(planes * m * P * taps))
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int64_t n = plane / C, c = plane % C;
    T* dxp = dx + plane * g.H * g.W;
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
            if (g.sw == 1) {
              for (int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow + shift] += wv * src[ow];
            } else {
              for (int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow * g.sw + shift] += wv * src[ow];
            }
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
                dx[((n * C + oc / m) * g.H + ih) * g.W + iw] +=
                    w[(oc * g.kh + i) * g.kw + j] * gout[((n * C * m + oc) * g.Ho + oh) * g.Wo + ow];
            }
}

// ---- weight gradient ---------------------------------------------------------------------------
// dw[oc,i,j] is a dot product of gout's planes with shifted input planes, over n, oh, ow. A float
// sum cannot be vectorised by the compiler without reordering it, so the sum runs in kLanes
// independent partial sums (lane l takes positions lo + l, lo + l + kLanes, ...), added in lane
// order at the end: a fixed order the compiler can vectorise. One thread per filter oc.
template <class T>
void depthwise_backward_weight(const T* gout, const T* x, int64_t N, int64_t C, int64_t m, const ConvGeom& g,
                               T* dw) {
  constexpr int kLanes = 8;
  const int64_t P = g.P(), taps = g.kh * g.kw;
#pragma omp parallel for schedule(static) if (go_parallel(N * C * m * P * taps))
  for (int64_t oc = 0; oc < C * m; ++oc) {
    const int64_t c = oc / m;
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t shift = j * g.dw - g.pw;
        const Range r = valid_range(g.Wo, g.W, g.sw, g.pw, j * g.dw);
        T lane[kLanes] = {};
        T tail = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* gp = gout + (n * C * m + oc) * P;
          const T* xp = x + (n * C + c) * g.H * g.W;
          for (int64_t oh = 0; oh < g.Ho; ++oh) {
            const int64_t ih = oh * g.sh - g.ph + i * g.dh;
            if (ih < 0 || ih >= g.H) continue;
            const T* gr = gp + oh * g.Wo;
            const T* xr = xp + ih * g.W;
            int64_t ow = r.lo;
            if (g.sw == 1) {
              for (; ow + kLanes <= r.hi; ow += kLanes)
                for (int l = 0; l < kLanes; ++l) lane[l] += gr[ow + l] * xr[ow + l + shift];
            } else {
              for (; ow + kLanes <= r.hi; ow += kLanes)
                for (int l = 0; l < kLanes; ++l) lane[l] += gr[ow + l] * xr[(ow + l) * g.sw + shift];
            }
            for (; ow < r.hi; ++ow) tail += gr[ow] * xr[ow * g.sw + shift];
          }
        }
        T acc = 0;
        for (int l = 0; l < kLanes; ++l) acc += lane[l];
        dw[oc * taps + i * g.kw + j] = acc + tail;
      }
  }
}

template <class T>
void depthwise_backward_weight_ref(const T* gout, const T* x, int64_t N, int64_t C, int64_t m,
                                   const ConvGeom& g, T* dw) {
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

#define DG_DEPTHWISE_INSTANTIATE(T)                                                                           \
  template void depthwise_forward<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, const ConvGeom&, T*); \
  template void depthwise_forward_ref<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, const ConvGeom&, \
                                         T*);                                                                 \
  template void depthwise_backward_input<T>(const T*, const T*, int64_t, int64_t, int64_t, const ConvGeom&, T*); \
  template void depthwise_backward_input_ref<T>(const T*, const T*, int64_t, int64_t, int64_t, const ConvGeom&,  \
                                                T*);                                                          \
  template void depthwise_backward_weight<T>(const T*, const T*, int64_t, int64_t, int64_t, const ConvGeom&, T*); \
  template void depthwise_backward_weight_ref<T>(const T*, const T*, int64_t, int64_t, int64_t, const ConvGeom&, \
                                                 T*);
DG_DEPTHWISE_INSTANTIATE(float)
DG_DEPTHWISE_INSTANTIATE(double)
#undef DG_DEPTHWISE_INSTANTIATE

}  // namespace dg::kernels
