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
  const int64_t a = p - off;               // o*s >= a
  const int64_t b = n_in - 1 + p - off;    // o*s <= b
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
// copy), with zeros where the tap reads padding.
template <class T>
void im2col(const T* x, int64_t C, const ConvGeom& g, T* cols, int64_t ld_cols) {
  const int64_t K = C * g.kh * g.kw;
#pragma omp parallel for schedule(static) if (go_parallel(K * g.P()))
  for (int64_t r = 0; r < K; ++r) {
    const int64_t c = r / (g.kh * g.kw), i = (r / g.kw) % g.kh, j = r % g.kw;
    const Range ow_ok = valid_range(g.Wo, g.W, g.sw, g.pw, j * g.dw);
    const int64_t shift = j * g.dw - g.pw;  // iw = ow*sw + shift
    T* dst_row = cols + r * ld_cols;
    for (int64_t oh = 0; oh < g.Ho; ++oh) {
      const int64_t ih = oh * g.sh - g.ph + i * g.dh;
      T* dst = dst_row + oh * g.Wo;
      if (ih < 0 || ih >= g.H) {
        std::fill(dst, dst + g.Wo, T(0));
        continue;
      }
      const T* src = x + (c * g.H + ih) * g.W;  // input row ih
      std::fill(dst, dst + ow_ok.lo, T(0));
      if (g.sw == 1) {
        std::copy(src + ow_ok.lo + shift, src + ow_ok.hi + shift, dst + ow_ok.lo);
      } else {
        for (int64_t ow = ow_ok.lo; ow < ow_ok.hi; ++ow) dst[ow] = src[ow * g.sw + shift];
      }
      std::fill(dst + ow_ok.hi, dst + g.Wo, T(0));
    }
  }
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
// (c, ih, iw). Taps overlap (a 3x3 stride-1 kernel reads each pixel 9 times), hence the sum. One
// thread owns channel c and adds its terms in the order i, j, oh, ow: the same bits for any thread
// count, and exactly the order of col2im_ref.
template <class T>
void col2im(const T* cols, int64_t ld_cols, int64_t C, const ConvGeom& g, T* x) {
#pragma omp parallel for schedule(static) if (go_parallel(C * g.kh * g.kw * g.P()))
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* src_row = cols + ((c * g.kh + i) * g.kw + j) * ld_cols;
        const Range ow_ok = valid_range(g.Wo, g.W, g.sw, g.pw, j * g.dw);
        const int64_t shift = j * g.dw - g.pw;
        for (int64_t oh = 0; oh < g.Ho; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* dst = x + (c * g.H + ih) * g.W;  // input row ih
          const T* src = src_row + oh * g.Wo;
          if (g.sw == 1) {
            for (int64_t ow = ow_ok.lo; ow < ow_ok.hi; ++ow) dst[ow + shift] += src[ow];
          } else {
            for (int64_t ow = ow_ok.lo; ow < ow_ok.hi; ++ow) dst[ow * g.sw + shift] += src[ow];
          }
        }
      }
  }
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
void conv2d_direct_backward_ref(const T* gout, const T* x, const T* w, int64_t N, int64_t C, int64_t O,
                                int64_t groups, const ConvGeom& g, T* dx, T* dw, T* db) {
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

#define DG_IM2COL_INSTANTIATE(T)                                                                             \
  template void im2col<T>(const T*, int64_t, const ConvGeom&, T*, int64_t);                                  \
  template void im2col_ref<T>(const T*, int64_t, const ConvGeom&, T*, int64_t);                              \
  template void col2im<T>(const T*, int64_t, int64_t, const ConvGeom&, T*);                                  \
  template void col2im_ref<T>(const T*, int64_t, int64_t, const ConvGeom&, T*);                              \
  template void conv2d_direct_ref<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t,       \
                                     const ConvGeom&, T*);                                                   \
  template void conv2d_direct_backward_ref<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t,       \
                                              int64_t, const ConvGeom&, T*, T*, T*);
DG_IM2COL_INSTANTIATE(float)
DG_IM2COL_INSTANTIATE(double)
#undef DG_IM2COL_INSTANTIATE

}  // namespace dg::kernels
