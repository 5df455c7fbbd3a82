#include "autograd/kernels/im2col.h"

#include <omp.h>

#include <algorithm>

#include "autograd/kernels/broadcast.h"

namespace dg::kernels {

int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  const int64_t span = in + 2 * pad - dil * (k - 1) - 1;  // last valid start position
  // floor division (span may be negative: then there is no output)
  return (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
}

namespace {

// Output positions o in [lo, hi) whose input coordinate o*s - p + off lies inside [0, n).
// Outside that range the receptive field reads padding.
struct Range {
  int64_t lo, hi;
};
Range valid_range(int64_t n_out, int64_t n_in, int64_t s, int64_t p, int64_t off) {
  const int64_t a = p - off;             // o*s >= a
  const int64_t b = n_in - 1 + p - off;  // o*s <= b
  if (b < 0) return {0, 0};
  int64_t lo = a <= 0 ? 0 : (a + s - 1) / s;
  int64_t hi = std::min(n_out, b / s + 1);
  lo = std::min(lo, hi);
  return {lo, hi};
}

bool go_parallel(int64_t work) { return work >= kParallelMin && !omp_in_parallel() && omp_get_max_threads() > 1; }

}  // namespace

// ---- im2col ------------------------------------------------------------------------------------
// Row r = (c, i, j) of cols is the input plane c, shifted by the tap (i, j) and subsampled by the
// stride. For each output row oh it is one contiguous stretch of input row ih (stride 1: a plain
// copy), with zeros where the tap reads padding. A block visits the output rows its column range
// [p0, p1) touches, the first and last possibly in part.
template <class T>
void im2col_block(const T* x, const ConvGeom& g, int64_t r0, int64_t r1, int64_t p0, int64_t p1, T* cols,
                  int64_t ld_cols) {
  if (p0 >= p1) return;
  const int64_t taps = g.kh * g.kw, oh_first = p0 / g.Wo, oh_last = (p1 - 1) / g.Wo;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t c = r / taps, i = (r / g.kw) % g.kh, j = r % g.kw;
    const Range ok = valid_range(g.Wo, g.W, g.sw, g.pw, j * g.dw);
    const int64_t shift = j * g.dw - g.pw;  // iw = ow*sw + shift
    for (int64_t oh = oh_first; oh <= oh_last; ++oh) {
      // output positions ow in [a, b) of this row lie in the block; (oh, ow) is block column q + ow
      const int64_t a = oh == oh_first ? p0 - oh * g.Wo : 0, b = oh == oh_last ? p1 - oh * g.Wo : g.Wo;
      T* dst = cols + (r - r0) * ld_cols + (oh * g.Wo + a - p0);  // dst[ow - a] is position (oh, ow)
      const int64_t ih = oh * g.sh - g.ph + i * g.dh;
      if (ih < 0 || ih >= g.H) {
        std::fill(dst, dst + (b - a), T(0));
        continue;
      }
      const T* src = x + (c * g.H + ih) * g.W;  // input row ih
      const int64_t lo = std::clamp(ok.lo, a, b), hi = std::clamp(ok.hi, lo, b);
      std::fill(dst, dst + (lo - a), T(0));
      if (g.sw == 1) {
        std::copy(src + lo + shift, src + hi + shift, dst + (lo - a));
      } else {
        for (int64_t ow = lo; ow < hi; ++ow) dst[ow - a] = src[ow * g.sw + shift];
      }
      std::fill(dst + (hi - a), dst + (b - a), T(0));
    }
  }
}

template <class T>
void im2col(const T* x, int64_t C, const ConvGeom& g, T* cols, int64_t ld_cols) {
  const int64_t K = C * g.kh * g.kw;
#pragma omp parallel for schedule(static) if (go_parallel(K * g.P()))
  for (int64_t r = 0; r < K; ++r) im2col_block(x, g, r, r + 1, 0, g.P(), cols + r * ld_cols, ld_cols);
}

template <class T>
void im2col_ref(const T* x, int64_t C, const ConvGeom& g, T* cols, int64_t ld_cols) {
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j)
        for (int64_t oh = 0; oh < g.Ho; ++oh)
          for (int64_t ow = 0; ow < g.Wo; ++ow) {
            const int64_t ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
            const bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
            cols[((c * g.kh + i) * g.kw + j) * ld_cols + oh * g.Wo + ow] = inside ? x[(c * g.H + ih) * g.W + iw] : T(0);
          }
}

// ---- col2im ------------------------------------------------------------------------------------
// The transpose of im2col: x[c, ih, iw] += cols[(c,i,j), (oh,ow)] for every entry im2col copied from
// (c, ih, iw). Taps overlap (a 3x3 stride-1 kernel reads each pixel 9 times), hence the sum. Within a
// block the terms of a pixel are added in the order (i, j, oh, ow).
template <class T>
void col2im_block(const T* cols, int64_t ld_cols, const ConvGeom& g, int64_t r0, int64_t r1, int64_t p0, int64_t p1,
                  T* x) {
  if (p0 >= p1) return;
  const int64_t taps = g.kh * g.kw, oh_first = p0 / g.Wo, oh_last = (p1 - 1) / g.Wo;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t c = r / taps, i = (r / g.kw) % g.kh, j = r % g.kw;
    const Range ok = valid_range(g.Wo, g.W, g.sw, g.pw, j * g.dw);
    const int64_t shift = j * g.dw - g.pw;
    for (int64_t oh = oh_first; oh <= oh_last; ++oh) {
      const int64_t ih = oh * g.sh - g.ph + i * g.dh;
      if (ih < 0 || ih >= g.H) continue;
      const int64_t a = oh == oh_first ? p0 - oh * g.Wo : 0, b = oh == oh_last ? p1 - oh * g.Wo : g.Wo;
      const int64_t lo = std::clamp(ok.lo, a, b), hi = std::clamp(ok.hi, lo, b);
      T* dst = x + (c * g.H + ih) * g.W;                                // input row ih
      const T* src = cols + (r - r0) * ld_cols + (oh * g.Wo + a - p0);  // src[ow - a] is position (oh, ow)
      if (g.sw == 1) {
        for (int64_t ow = lo; ow < hi; ++ow) dst[ow + shift] += src[ow - a];
      } else {
        for (int64_t ow = lo; ow < hi; ++ow) dst[ow * g.sw + shift] += src[ow - a];
      }
    }
  }
}

// One thread per channel: the same bits for any thread count, and the order of col2im_ref.
template <class T>
void col2im(const T* cols, int64_t ld_cols, int64_t C, const ConvGeom& g, T* x) {
  const int64_t taps = g.kh * g.kw;
#pragma omp parallel for schedule(static) if (go_parallel(C * taps * g.P()))
  for (int64_t c = 0; c < C; ++c)
    col2im_block(cols + c * taps * ld_cols, ld_cols, g, c * taps, (c + 1) * taps, 0, g.P(), x);
}

template <class T>
void col2im_ref(const T* cols, int64_t ld_cols, int64_t C, const ConvGeom& g, T* x) {
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j)
        for (int64_t oh = 0; oh < g.Ho; ++oh)
          for (int64_t ow = 0; ow < g.Wo; ++ow) {
            const int64_t ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
            if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
              x[(c * g.H + ih) * g.W + iw] += cols[((c * g.kh + i) * g.kw + j) * ld_cols + oh * g.Wo + ow];
          }
}

// ---- direct convolution (reference) -----------------------------------------------------------
template <class T>
void conv2d_direct_ref(const T* x, const T* w, const T* b, int64_t N, int64_t C, int64_t O, int64_t groups,
                       const ConvGeom& g, T* out) {
  const int64_t Cg = C / groups, Og = O / groups;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          T acc = b ? b[o] : T(0);
          for (int64_t cg = 0; cg < Cg; ++cg) {
            const int64_t c = (o / Og) * Cg + cg;
            for (int64_t i = 0; i < g.kh; ++i)
              for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                acc += w[((o * Cg + cg) * g.kh + i) * g.kw + j] * x[((n * C + c) * g.H + ih) * g.W + iw];
              }
          }
          out[((n * O + o) * g.Ho + oh) * g.Wo + ow] = acc;
        }
}

// dx[n,c,ih,iw] = sum over the (o, oh, ow, i, j) that read it of w * gout
// dw[o,c',i,j]  = sum_{n,oh,ow} gout[n,o,oh,ow] * x[n, c, ih, iw]
// db[o]         = sum_{n,oh,ow} gout[n,o,oh,ow]
template <class T>
void conv2d_direct_backward_ref(const T* gout, const T* x, const T* w, int64_t N, int64_t C, int64_t O, int64_t groups,
                                const ConvGeom& g, T* dx, T* dw, T* db) {
  const int64_t Cg = C / groups, Og = O / groups;
  if (dx) std::fill(dx, dx + N * C * g.H * g.W, T(0));
  if (dw) std::fill(dw, dw + O * Cg * g.kh * g.kw, T(0));
  if (db) std::fill(db, db + O, T(0));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const T go = gout[((n * O + o) * g.Ho + oh) * g.Wo + ow];
          if (db) db[o] += go;
          for (int64_t cg = 0; cg < Cg; ++cg) {
            const int64_t c = (o / Og) * Cg + cg;
            for (int64_t i = 0; i < g.kh; ++i)
              for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                const int64_t xi = ((n * C + c) * g.H + ih) * g.W + iw, wi = ((o * Cg + cg) * g.kh + i) * g.kw + j;
                if (dx) dx[xi] += w[wi] * go;
                if (dw) dw[wi] += x[xi] * go;
              }
          }
        }
}

#define DG_IM2COL_INSTANTIATE(T)                                                                                \
  template void im2col<T>(const T*, int64_t, const ConvGeom&, T*, int64_t);                                     \
  template void im2col_block<T>(const T*, const ConvGeom&, int64_t, int64_t, int64_t, int64_t, T*, int64_t);    \
  template void col2im_block<T>(const T*, int64_t, const ConvGeom&, int64_t, int64_t, int64_t, int64_t, T*);    \
  template void im2col_ref<T>(const T*, int64_t, const ConvGeom&, T*, int64_t);                                 \
  template void col2im<T>(const T*, int64_t, int64_t, const ConvGeom&, T*);                                     \
  template void col2im_ref<T>(const T*, int64_t, int64_t, const ConvGeom&, T*);                                 \
  template void conv2d_direct_ref<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t,          \
                                     const ConvGeom&, T*);                                                      \
  template void conv2d_direct_backward_ref<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t, \
                                              const ConvGeom&, T*, T*, T*);
DG_IM2COL_INSTANTIATE(float)
DG_IM2COL_INSTANTIATE(double)
#undef DG_IM2COL_INSTANTIATE

}  // namespace dg::kernels
