// CenterNet targets: gaussian_radius, centernet_targets, stack_targets, batch_targets (see targets.h).
//
// Legend: C classes, H x W output cells, K = max_objs slots, r = radius in cells, o = min_overlap.
#include "detectors/centernet/targets.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"

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
  check(std::isfinite(h) && std::isfinite(w) && h >= 0 && w >= 0,
        "gaussian_radius: box size must be finite and >= 0, got h=", h, " w=", w);
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

// ---- the CenterNet target builder -------------------------------------------------------------------
namespace {
template <class T>
void build_centernet(const T* b, const Tensor& labels, int64_t n, const CenterNetTargetOptions& opt,
                     CenterNetTargets& t) {
  const int64_t H = opt.out_h, W = opt.out_w;
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
    const double r = gaussian_radius(std::ceil(double(h)), std::ceil(double(w)), opt.min_overlap,
                                     opt.gaussian_radius_code);
    const int64_t radius = std::max<int64_t>(0, (int64_t)r);  // int() truncates toward zero
    const T cx = (x1 + x2) / T(2), cy = (y1 + y2) / T(2);
    const int64_t ix = (int64_t)cx, iy = (int64_t)cy;  // cx, cy >= 0: truncation = floor
    draw_gaussian(t.heatmap, cls, ix, iy, radius);
    wh[2 * k] = w, wh[2 * k + 1] = h;
    off[2 * k] = cx - T(ix), off[2 * k + 1] = cy - T(iy);
    ind[k] = iy * W + ix;
    mask[k] = 1;
  }
}
}  // namespace

CenterNetTargets centernet_targets(const Tensor& boxes, const Tensor& labels, const CenterNetTargetOptions& opt) {
  const char* op = "centernet_targets";
  check(boxes.defined() && boxes.dim() == 2 && boxes.size(1) == 4, op, ": boxes must be [N,4], got ",
        boxes.defined() ? shape_str(boxes.shape()) : "undefined");
  check(boxes.dtype() == DType::f32 || boxes.dtype() == DType::f64, op, ": boxes must be f32 or f64, got ",
        dtype_name(boxes.dtype()));
  check(labels.defined() && labels.dim() == 1 && labels.size(0) == boxes.size(0), op,
        ": labels must be [N] with N = ", boxes.size(0), " (boxes ", shape_text(boxes.shape()), "), got ",
        labels.defined() ? shape_str(labels.shape()) : "undefined");
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
  if (dt == DType::f32) build_centernet<float>(boxes.data<float>(), labels, boxes.size(0), opt, t);
  else build_centernet<double>(boxes.data<double>(), labels, boxes.size(0), opt, t);
  return t;
}

}  // namespace dg

namespace dg::centernet {

CenterNetBatchTargets stack_targets(const std::vector<CenterNetTargets>& per_image) {
  check(!per_image.empty(), "centernet stack_targets: no images");
  std::vector<Tensor> hm, wh, off, idx, mask;
  for (const auto& t : per_image) {
    hm.push_back(t.heatmap);
    wh.push_back(t.wh);
    off.push_back(t.offset);
    idx.push_back(t.indices);
    mask.push_back(t.mask);
  }
  return {stack(hm), stack(wh), stack(off), stack(idx), stack(mask)};
}

CenterNetBatchTargets batch_targets(const data::Batch& b, int64_t num_classes, int64_t out_h, int64_t out_w,
                                    int64_t max_objs, double stride) {
  CenterNetTargetOptions to;
  to.num_classes = num_classes;
  to.out_h = out_h;
  to.out_w = out_w;
  to.stride = stride;
  to.max_objs = max_objs;
  std::vector<CenterNetTargets> per;
  for (size_t i = 0; i < b.boxes.size(); ++i) {
    const int64_t n = (int64_t)b.boxes[i].size();
    std::vector<double> xy, lab;
    for (int64_t k = 0; k < n; ++k) {
      for (float v : b.boxes[i][(size_t)k]) xy.push_back(v);
      lab.push_back(b.labels[i][(size_t)k]);
    }
    per.push_back(centernet_targets(from_vector(xy, {n, 4}, DType::f32), from_vector(lab, {n}, DType::i64), to));
  }
  return stack_targets(per);
}

}  // namespace dg::centernet
