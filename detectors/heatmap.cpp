// CenterNet heatmaps: gaussian_radius, gaussian_kernel, draw_gaussian, centernet_targets (see heatmap.h).
//
// Legend: C classes, H x W output cells, K = max_objs slots, r = radius in cells, o = min_overlap.
#include "detectors/heatmap.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "autograd/error.h"

namespace dg {

// ---- gaussian_radius -------------------------------------------------------------------------------
// NOTE [ The CenterNet radius bug ]
// The three quadratics come from CornerNet: how far may both corners move (case 1: the box shifts,
// case 2: it shrinks, case 3: it grows) before the IoU with the true box drops below o. With b as the
// code writes it, each is a r^2 - b r + c = 0 with roots (b +- sqrt(b^2 - 4ac)) / (2a). The wanted roots
// are the smaller one for cases 1 and 2 and the larger (the only positive) one for case 3. The code
// writes (b + sqrt(b^2 - 4ac)) / 2 for all three: the 1/a is dropped everywhere and cases 1 and 2 take
// the wrong root. At o = 0.7 those two are then huge and the minimum is always case 3, a3 = 2.8 times
// too large. The CenterNet maintainers kept the code's version (a user measured lower mAP after
// "fixing" it), so it is what every preset uses.
double gaussian_radius(double h, double w, double o, bool code_version) {
  check(std::isfinite(h) && std::isfinite(w) && h >= 0 && w >= 0, "gaussian_radius: box size must be finite and >= 0, got h=",
        h, " w=", w);
  check(o > 0 && o < 1, "gaussian_radius: min_overlap must be in (0, 1), got ", o);
  const double a1 = 1, b1 = h + w, c1 = w * h * (1 - o) / (1 + o);
  const double a2 = 4, b2 = 2 * (h + w), c2 = (1 - o) * w * h;
  const double a3 = 4 * o, b3 = -2 * o * (h + w), c3 = (o - 1) * w * h;
  const double sq1 = std::sqrt(b1 * b1 - 4 * a1 * c1);
  const double sq2 = std::sqrt(b2 * b2 - 4 * a2 * c2);
  const double sq3 = std::sqrt(b3 * b3 - 4 * a3 * c3);
  if (code_version) return std::min({(b1 + sq1) / 2, (b2 + sq2) / 2, (b3 + sq3) / 2});
  return std::min({(b1 - sq1) / (2 * a1), (b2 - sq2) / (2 * a2), (b3 + sq3) / (2 * a3)});
}

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
  check(dtype == DType::f32 || dtype == DType::f64, "gaussian_kernel: dtype must be f32 or f64, got ", dtype_name(dtype));
  const int64_t d = 2 * r + 1;
  std::vector<double> v((size_t)(d * d));
  for (int64_t y = 0; y < d; ++y)
    for (int64_t x = 0; x < d; ++x) v[(size_t)(y * d + x)] = kernel_value(x - r, y - r, r);
  return from_vector(v, {d, d}, dtype);
}

void draw_gaussian(Tensor& heatmap, int64_t channel, int64_t cx, int64_t cy, int64_t radius) {
  check(heatmap.defined() && (heatmap.dim() == 2 || heatmap.dim() == 3),
        "draw_gaussian: heatmap must be [H,W] or [C,H,W], got ", heatmap.defined() ? shape_str(heatmap.shape()) : "undefined");
  const int64_t C = heatmap.dim() == 3 ? heatmap.size(0) : 1, H = heatmap.size(-2), W = heatmap.size(-1);
  check(channel >= 0 && channel < C, "draw_gaussian: channel ", channel, " out of range for heatmap ",
        shape_text(heatmap.shape()));
  check(radius >= 0, "draw_gaussian: radius must be >= 0, got ", radius);
  if (heatmap.dtype() == DType::f32)
    splat(heatmap.data<float>() + channel * H * W, H, W, cx, cy, radius);
  else if (heatmap.dtype() == DType::f64)
    splat(heatmap.data<double>() + channel * H * W, H, W, cx, cy, radius);
  else
    fail("draw_gaussian: heatmap must be f32 or f64, got ", dtype_name(heatmap.dtype()));
}

// ---- the CenterNet target builder -------------------------------------------------------------------
namespace {
template <class T>
void build_centernet(const T* b, const Tensor& labels, int64_t n, const CenterNetTargetOptions& opt,
                     const Conventions& conv, CenterNetTargets& t) {
  const int64_t H = opt.out_h, W = opt.out_w;
  T* hm = t.heatmap.data<T>();
  T* wh = t.wh.data<T>();
  T* off = t.offset.data<T>();
  int64_t* ind = t.indices.data<int64_t>();
  uint8_t* mask = t.mask.data<uint8_t>();
  const int64_t count = std::min(n, opt.max_objs);
  for (int64_t k = 0; k < count; ++k) {
    const int64_t cls = (int64_t)labels.at(k);
    // Input pixels -> output cells, clipped to the map (CenterNet clips to [0, W-1] x [0, H-1]).
    T x1 = std::clamp(T(b[4 * k + 0] / T(opt.stride)), T(0), T(W - 1));
    T y1 = std::clamp(T(b[4 * k + 1] / T(opt.stride)), T(0), T(H - 1));
    T x2 = std::clamp(T(b[4 * k + 2] / T(opt.stride)), T(0), T(W - 1));
    T y2 = std::clamp(T(b[4 * k + 3] / T(opt.stride)), T(0), T(H - 1));
    const T h = y2 - y1, w = x2 - x1;
    if (!(h > T(0) && w > T(0))) continue;  // empty after clipping: slot stays masked out
    const double r = gaussian_radius(std::ceil(double(h)), std::ceil(double(w)), opt.min_overlap, conv.gaussian_radius_code);
    const int64_t radius = std::max<int64_t>(0, (int64_t)r);  // int() truncates toward zero
    const T cx = (x1 + x2) / T(2), cy = (y1 + y2) / T(2);
    const int64_t ix = (int64_t)cx, iy = (int64_t)cy;       // cx, cy >= 0: truncation = floor
    splat(hm + cls * H * W, H, W, ix, iy, radius);
    wh[2 * k] = w, wh[2 * k + 1] = h;
    off[2 * k] = cx - T(ix), off[2 * k + 1] = cy - T(iy);
    ind[k] = iy * W + ix;
    mask[k] = 1;
  }
}
}  // namespace

CenterNetTargets centernet_targets(const Tensor& boxes, const Tensor& labels, const CenterNetTargetOptions& opt,
                                   const Conventions& conv) {
  const char* op = "centernet_targets";
  check(boxes.defined() && boxes.dim() == 2 && boxes.size(1) == 4, op, ": boxes must be [N,4], got ",
        boxes.defined() ? shape_str(boxes.shape()) : "undefined");
  check(boxes.dtype() == DType::f32 || boxes.dtype() == DType::f64, op, ": boxes must be f32 or f64, got ",
        dtype_name(boxes.dtype()));
  check(labels.defined() && labels.dim() == 1 && labels.size(0) == boxes.size(0), op, ": labels must be [N] with N = ",
        boxes.size(0), " (boxes ", shape_text(boxes.shape()), "), got ", labels.defined() ? shape_str(labels.shape()) : "undefined");
  check(!is_floating(labels.dtype()), op, ": labels must be integers (i64), got ", dtype_name(labels.dtype()));
  check(opt.num_classes > 0 && opt.out_h > 0 && opt.out_w > 0 && opt.stride > 0 && opt.max_objs >= 0, op,
        ": need num_classes, output size and stride > 0 and max_objs >= 0, got num_classes=", opt.num_classes,
        " output_size=", opt.out_h, ",", opt.out_w, " stride=", opt.stride, " max_objs=", opt.max_objs);
  for (int64_t k = 0; k < std::min(boxes.size(0), opt.max_objs); ++k) {
    const double c = labels.at(k);
    check(c >= 0 && c < double(opt.num_classes), op, ": label ", c, " of box ", k, " is outside [0, ", opt.num_classes,
          ")");
    for (int j = 0; j < 4; ++j) check(!std::isnan(boxes.at(4 * k + j)), op, ": box ", k, " has a NaN coordinate");
  }
  const DType dt = boxes.dtype();
  CenterNetTargets t;
  t.heatmap = zeros({opt.num_classes, opt.out_h, opt.out_w}, dt);
  t.wh = zeros({opt.max_objs, 2}, dt);
  t.offset = zeros({opt.max_objs, 2}, dt);
  t.indices = zeros({opt.max_objs}, DType::i64);
  t.mask = zeros({opt.max_objs}, DType::u8);
  if (dt == DType::f32)
    build_centernet<float>(boxes.data<float>(), labels, boxes.size(0), opt, conv, t);
  else
    build_centernet<double>(boxes.data<double>(), labels, boxes.size(0), opt, conv, t);
  return t;
}

}  // namespace dg
