#include "autograd/kernels/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/kernels/broadcast.h"

namespace dg::kernels {

int64_t pool_output_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil, bool ceil_mode) {
  const int64_t span = in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  // floor division (span may be negative when the kernel does not fit)
  int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// Parallel over planes once there is enough work; each plane is handled by one thread.
#define DG_FOR_PLANES(planes, work) \
  _Pragma("omp parallel for schedule(static) if ((work) >= kParallelMin)") for (int64_t p = 0; p < (planes); ++p)

// ---- max_pool2d --------------------------------------------------------------------------------
template <class T>
void max_pool2d_forward(const T* x, T* out, int64_t* argmax, int64_t planes, const Pool2dGeom& g) {
  const int64_t work = planes * g.OH * g.OW * g.kh * g.kw;
  DG_FOR_PLANES(planes, work) {
    const T* xp = x + p * g.H * g.W;
    T* op = out + p * g.OH * g.OW;
    int64_t* ap = argmax + p * g.OH * g.OW;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      // first row of the window inside the input: step over the padding a dilation at a time
      int64_t h0 = oh * g.sh - g.ph;
      const int64_t h1 = std::min(h0 + (g.kh - 1) * g.dh + 1, g.H);
      while (h0 < 0) h0 += g.dh;
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        int64_t w0 = ow * g.sw - g.pw;
        const int64_t w1 = std::min(w0 + (g.kw - 1) * g.dw + 1, g.W);
        while (w0 < 0) w0 += g.dw;
        T best = -std::numeric_limits<T>::infinity();
        int64_t bi = (h0 < h1 && w0 < w1) ? h0 * g.W + w0 : -1;
        for (int64_t ih = h0; ih < h1; ih += g.dh)
          for (int64_t iw = w0; iw < w1; iw += g.dw) {
            const T v = xp[ih * g.W + iw];
            if (v > best || std::isnan(v)) {  // strict >: the first maximum wins; any NaN takes over
              best = v;
              bi = ih * g.W + iw;
            }
          }
        op[oh * g.OW + ow] = best;
        ap[oh * g.OW + ow] = bi;
      }
    }
  }
}

template <class T>
void max_pool2d_backward(const T* gout, const int64_t* argmax, T* gx, int64_t planes, const Pool2dGeom& g) {
  const int64_t work = planes * (g.OH * g.OW + g.H * g.W);
  DG_FOR_PLANES(planes, work) {
    const T* gp = gout + p * g.OH * g.OW;
    const int64_t* ap = argmax + p * g.OH * g.OW;
    T* dp = gx + p * g.H * g.W;
    for (int64_t o = 0; o < g.OH * g.OW; ++o)
      if (ap[o] >= 0) dp[ap[o]] += gp[o];  // overlapping windows accumulate, in output order
  }
}

// ---- avg_pool2d --------------------------------------------------------------------------------
namespace {
// The window of output (oh, ow) clipped to the input, and its divisor (see pool.h).
struct AvgWindow {
  int64_t h0, h1, w0, w1, divisor;
};
AvgWindow avg_window(const Pool2dGeom& g, int64_t oh, int64_t ow, bool count_include_pad, int64_t divisor_override) {
  int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  int64_t h1 = std::min(h0 + g.kh, g.H + g.ph), w1 = std::min(w0 + g.kw, g.W + g.pw);
  const int64_t padded_cells = (h1 - h0) * (w1 - w0);  // inside the padded input
  h0 = std::max<int64_t>(h0, 0);
  w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, g.H);
  w1 = std::min(w1, g.W);
  const int64_t inner_cells = std::max<int64_t>(h1 - h0, 0) * std::max<int64_t>(w1 - w0, 0);
  const int64_t d = divisor_override > 0 ? divisor_override : count_include_pad ? padded_cells : inner_cells;
  return {h0, h1, w0, w1, d};
}
}  // namespace

template <class T>
void avg_pool2d_forward(const T* x, T* out, int64_t planes, const Pool2dGeom& g, bool count_include_pad,
                        int64_t divisor_override) {
  const int64_t work = planes * g.OH * g.OW * g.kh * g.kw;
  DG_FOR_PLANES(planes, work) {
    const T* xp = x + p * g.H * g.W;
    T* op = out + p * g.OH * g.OW;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const AvgWindow w = avg_window(g, oh, ow, count_include_pad, divisor_override);
        if (w.h0 >= w.h1 || w.w0 >= w.w1) {
          op[oh * g.OW + ow] = 0;
          continue;
        }
        double s = 0;
        for (int64_t ih = w.h0; ih < w.h1; ++ih)
          for (int64_t iw = w.w0; iw < w.w1; ++iw) s += xp[ih * g.W + iw];
        op[oh * g.OW + ow] = (T)(s / (double)w.divisor);
      }
  }
}

template <class T>
void avg_pool2d_backward(const T* gout, T* gx, int64_t planes, const Pool2dGeom& g, bool count_include_pad,
                         int64_t divisor_override) {
  const int64_t work = planes * g.OH * g.OW * g.kh * g.kw;
  DG_FOR_PLANES(planes, work) {
    const T* gp = gout + p * g.OH * g.OW;
    T* dp = gx + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const AvgWindow w = avg_window(g, oh, ow, count_include_pad, divisor_override);
        const T share = (T)((double)gp[oh * g.OW + ow] / (double)w.divisor);
        for (int64_t ih = w.h0; ih < w.h1; ++ih)
          for (int64_t iw = w.w0; iw < w.w1; ++iw) dp[ih * g.W + iw] += share;
      }
  }
}

// ---- adaptive_avg_pool2d -----------------------------------------------------------------------
template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* out, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  const int64_t work = planes * std::max(H * W, OH * OW);
  DG_FOR_PLANES(planes, work) {
    const T* xp = x + p * H * W;
    T* op = out + p * OH * OW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      const int64_t h0 = adaptive_start(oh, OH, H), h1 = adaptive_end(oh, OH, H);
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t w0 = adaptive_start(ow, OW, W), w1 = adaptive_end(ow, OW, W);
        double s = 0;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) s += xp[ih * W + iw];
        op[oh * OW + ow] = (T)(s / (double)((h1 - h0) * (w1 - w0)));
      }
    }
  }
}

template <class T>
void adaptive_avg_pool2d_backward(const T* gout, T* gx, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  const int64_t work = planes * std::max(H * W, OH * OW);
  DG_FOR_PLANES(planes, work) {
    const T* gp = gout + p * OH * OW;
    T* dp = gx + p * H * W;
    for (int64_t oh = 0; oh < OH; ++oh) {
      const int64_t h0 = adaptive_start(oh, OH, H), h1 = adaptive_end(oh, OH, H);
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t w0 = adaptive_start(ow, OW, W), w1 = adaptive_end(ow, OW, W);
        const T share = (T)((double)gp[oh * OW + ow] / (double)((h1 - h0) * (w1 - w0)));
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) dp[ih * W + iw] += share;
      }
    }
  }
}

#define DG_POOL_INSTANTIATE(T)                                                                             \
  template void max_pool2d_forward<T>(const T*, T*, int64_t*, int64_t, const Pool2dGeom&);                 \
  template void max_pool2d_backward<T>(const T*, const int64_t*, T*, int64_t, const Pool2dGeom&);          \
  template void avg_pool2d_forward<T>(const T*, T*, int64_t, const Pool2dGeom&, bool, int64_t);            \
  template void avg_pool2d_backward<T>(const T*, T*, int64_t, const Pool2dGeom&, bool, int64_t);           \
  template void adaptive_avg_pool2d_forward<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int64_t); \
  template void adaptive_avg_pool2d_backward<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int64_t);
DG_POOL_INSTANTIATE(float)
DG_POOL_INSTANTIATE(double)

}  // namespace dg::kernels
