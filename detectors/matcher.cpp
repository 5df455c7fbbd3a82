// RetinaNet matcher (see matcher.h). Legend: G ground-truth boxes, A anchors, iou [G, A].
#include "detectors/matcher.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/error.h"
#include "detectors/iou.h"

namespace dg {

namespace {
template <class T>
Tensor match(const T* q, int64_t G, int64_t A, const MatcherOptions& opt) {
  Tensor out = full({A}, double(kMatchBackground), DType::i64);
  int64_t* m = out.data<int64_t>();
  if (G == 0) return out;
  // Best box per anchor (first index on ties), then the 0.5 / 0.4 thresholds.
  std::vector<int64_t> best(A);
  for (int64_t a = 0; a < A; ++a) {
    int64_t g_best = 0;
    for (int64_t g = 1; g < G; ++g)
      if (q[g * A + a] > q[g_best * A + a]) g_best = g;
    best[a] = g_best;
    const double v = double(q[g_best * A + a]);
    m[a] = v >= opt.high ? g_best : (v < opt.low ? kMatchBackground : kMatchIgnore);
  }
  if (!opt.allow_low_quality) return out;
  // Low-quality matches: for each box, every anchor tied at the box's best IoU becomes positive with
  // its own best box. Guard: a box that overlaps no anchor at all (best IoU 0) is skipped.
  for (int64_t g = 0; g < G; ++g) {
    const T* row = q + g * A;
    const T top = A > 0 ? *std::max_element(row, row + A) : T(0);
    if (!(top > T(0))) continue;
    for (int64_t a = 0; a < A; ++a)
      if (row[a] == top) m[a] = best[a];
  }
  return out;
}

}  // namespace

Tensor retinanet_match(const Tensor& iou, const MatcherOptions& opt) {
  const char* op = "retinanet_match";
  check(iou.defined() && iou.dim() == 2, op, ": iou must be [G, A] (boxes x anchors), got ",
        iou.defined() ? shape_str(iou.shape()) : "undefined");
  check(iou.dtype() == DType::f32 || iou.dtype() == DType::f64, op, ": iou must be f32 or f64, got ",
        dtype_name(iou.dtype()));
  check(opt.low <= opt.high, op, ": low threshold ", opt.low, " is above high threshold ", opt.high);
  for (int64_t i = 0; i < iou.numel(); ++i)
    check(!std::isnan(iou.at(i)), op, ": iou has a NaN at box ", i / iou.size(1), ", anchor ", i % iou.size(1),
          " (iou ", shape_text(iou.shape()), ")");
  if (iou.dtype() == DType::f32) return match<float>(iou.data<float>(), iou.size(0), iou.size(1), opt);
  return match<double>(iou.data<double>(), iou.size(0), iou.size(1), opt);
}

Tensor retinanet_match_boxes(const Tensor& boxes, const Tensor& anchors, const MatcherOptions& opt,
                             const Conventions& conv) {
  const char* op = "retinanet_match";
  check(boxes.defined() && anchors.defined() && boxes.dim() == 2 && boxes.size(1) == 4 && anchors.dim() == 2 &&
            anchors.size(1) == 4,
        op, ": boxes and anchors must be [G,4] and [A,4], got ",
        boxes.defined() ? shape_str(boxes.shape()) : "undefined", " and ",
        anchors.defined() ? shape_str(anchors.shape()) : "undefined");
  check(boxes.dtype() == anchors.dtype() && (boxes.dtype() == DType::f32 || boxes.dtype() == DType::f64), op,
        ": boxes and anchors must both be f32 or both f64, got ", dtype_name(boxes.dtype()), " and ",
        dtype_name(anchors.dtype()));
  // detectors/iou.h: torchvision.ops.box_iou (no eps; +1 widths with conv.pixel_offset). detach(): the
  // matcher only reads the values, so no graph is built.
  const Tensor q = box_iou(boxes.detach(), anchors.detach(), conv);
  return retinanet_match(q, opt);
}

}  // namespace dg
