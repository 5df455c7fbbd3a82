// Gaussian drawing: gaussian_kernel, draw_gaussian (see gaussian.h).
//
// Legend: H x W map cells, r = radius in cells.
#include "detectors/gaussian.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "autograd/error.h"

namespace dg {

// ---- the Gaussian kernel and the splat --------------------------------------------------------------
namespace {
// g(dx, dy) = exp(-(dx^2 + dy^2) / (2 sigma^2)), sigma = (2r+1)/6, zeroed below DBL_EPSILON * max
// (CenterNet's gaussian2D: np.finfo(float64).eps; the max is g(0,0) = 1).
double kernel_value(int64_t dx, int64_t dy, int64_t r) {
  const double sigma = double(2 * r + 1) / 6.0;
  const double g = std::exp(-double(dx * dx + dy * dy) / (2 * sigma * sigma));
  return g < DBL_EPSILON * 1.0 ? 0.0 : g;
}

template <class T>
void splat(T* map, int64_t H, int64_t W, int64_t cx, int64_t cy, int64_t r) {
  // Only the part of the (2r+1)^2 window inside the map; max-merge (not sum) with what is there.
  const int64_t y0 = std::max<int64_t>(cy - r, 0), y1 = std::min<int64_t>(cy + r, H - 1);
  const int64_t x0 = std::max<int64_t>(cx - r, 0), x1 = std::min<int64_t>(cx + r, W - 1);
  for (int64_t y = y0; y <= y1; ++y)
    for (int64_t x = x0; x <= x1; ++x) {
      const T g = T(kernel_value(x - cx, y - cy, r));
      T& v = map[y * W + x];
      v = std::max(v, g);
    }
}
}  // namespace

Tensor gaussian_kernel(int64_t r, DType dtype) {
  check(r >= 0, "gaussian_kernel: radius must be >= 0, got ", r);
  check(dtype == DType::f32 || dtype == DType::f64, "gaussian_kernel: dtype must be f32 or f64, got ",
        dtype_name(dtype));
  const int64_t d = 2 * r + 1;
  std::vector<double> v((size_t)(d * d));
  for (int64_t y = 0; y < d; ++y)
    for (int64_t x = 0; x < d; ++x) v[(size_t)(y * d + x)] = kernel_value(x - r, y - r, r);
  return from_vector(v, {d, d}, dtype);
}

void draw_gaussian(Tensor& heatmap, int64_t channel, int64_t cx, int64_t cy, int64_t radius) {
  check(heatmap.defined() && (heatmap.dim() == 2 || heatmap.dim() == 3),
        "draw_gaussian: heatmap must be [H,W] or [C,H,W], got ",
        heatmap.defined() ? shape_str(heatmap.shape()) : "undefined");
  const int64_t C = heatmap.dim() == 3 ? heatmap.size(0) : 1, H = heatmap.size(-2), W = heatmap.size(-1);
  check(channel >= 0 && channel < C, "draw_gaussian: channel ", channel, " out of range for heatmap ",
        shape_text(heatmap.shape()));
  check(radius >= 0, "draw_gaussian: radius must be >= 0, got ", radius);
  if (heatmap.dtype() == DType::f32) splat(heatmap.data<float>() + channel * H * W, H, W, cx, cy, radius);
  else if (heatmap.dtype() == DType::f64) splat(heatmap.data<double>() + channel * H * W, H, W, cx, cy, radius);
  else fail("draw_gaussian: heatmap must be f32 or f64, got ", dtype_name(heatmap.dtype()));
}

}  // namespace dg
