// The NMS family: hard NMS (torchvision.ops.nms), class-aware batched NMS, Soft-NMS (linear and
// Gaussian, Bodla et al. 2017) and DIoU-NMS (Zheng et al. 2020). None of them is differentiable: they
// pick boxes, they do not compute values a loss could flow through.
//
// Shapes: boxes [N,4] as x1,y1,x2,y2 (f32 or f64), scores [N] of the same dtype, class ids [N] (i64 or
// i32). Every result is a list of ORIGINAL indices (i64) into the inputs, highest score first.
// The IoU inside is computed in the boxes' dtype, as torchvision does, so f32 decisions at the threshold
// are the same as torchvision's. Docs: docs/detection/nms.md. Tests: tests/detectors/test_nms.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/conventions.h"

namespace dg {

// One suppression or decay event, for `explain`: box `box` was suppressed (hard, DIoU) or decayed
// (Soft-NMS) by the already-selected box `by` at overlap `iou` (for DIoU-NMS: IoU - penalty, the value
// compared with the threshold). score_before/after are Soft-NMS's scores around the decay
// (hard NMS: score, 0). `dropped`: the box left the candidate list at this event.
struct NmsEvent {
  int64_t box = -1;
  int64_t by = -1;
  double iou = 0;
  double score_before = 0;
  double score_after = 0;
  bool dropped = true;
};

// Hard NMS: stable sort by descending score (equal scores: lower index first), walk the list, drop every
// later box whose IoU with a kept box is > iou_threshold (>= with conv.nms_suppress_on_equal). Widths use
// conv.pixel_offset. Returns kept indices [K] i64 in score order. explain (optional) gets one event per
// suppressed box naming the first kept box that suppressed it.
Tensor nms(const Tensor& boxes, const Tensor& scores, double iou_threshold, const Conventions& conv = {},
           std::vector<NmsEvent>* explain = nullptr);

// Class-aware NMS: boxes of different classes never suppress each other (NMS runs per class, exactly,
// without torchvision's coordinate-offset trick, so no rounding is introduced). idxs [N] i64/i32.
// Returns the union of the per-class kept indices sorted by descending score (ties: lower index first).
Tensor batched_nms(const Tensor& boxes, const Tensor& scores, const Tensor& idxs, double iou_threshold,
                   const Conventions& conv = {}, std::vector<NmsEvent>* explain = nullptr);

enum class SoftNmsMethod { linear, gaussian };
SoftNmsMethod soft_nms_method_from_name(const std::string& name);  // "linear" | "gaussian"

struct SoftNmsOptions {
  SoftNmsMethod method = SoftNmsMethod::linear;
  double sigma = 0.5;              // gaussian: weight exp(-IoU^2 / sigma)
  double iou_threshold = 0.3;      // Nt, linear: weight 1 - IoU if IoU > Nt (>= with the convention), else 1
  double score_threshold = 0.001;  // a decayed box whose score falls below this is dropped
};

struct SoftNmsResult {
  Tensor indices;  // [K] i64, original indices in selection order
  Tensor scores;   // [K] decayed scores (dtype of the input scores), in the same order
};

// Soft-NMS: repeatedly select the candidate with the highest current score (equal scores: lower
// original index wins), then multiply the score of every remaining candidate that overlaps it
// (intersection > 0) by the weight, and drop those that fall below score_threshold. As in Bodla et
// al.'s and mmcv's code, a candidate with no overlap is never re-checked, so it keeps its score even if
// that score started below the threshold. explain gets one event per decay (weight applied).
SoftNmsResult soft_nms(const Tensor& boxes, const Tensor& scores, const SoftNmsOptions& opt = {},
                       const Conventions& conv = {}, std::vector<NmsEvent>* explain = nullptr);

// DIoU-NMS: hard NMS where box j is suppressed by a kept box i when IoU - (rho^2 / c^2)^beta > thr
// (>= with the convention); rho = distance between the centres, c = diagonal of the enclosing box.
// beta = 1 is the paper's rule; 0.6 appears in some configs. c = 0 (two identical points) gives penalty 0.
Tensor diou_nms(const Tensor& boxes, const Tensor& scores, double iou_threshold, double beta = 1.0,
                const Conventions& conv = {}, std::vector<NmsEvent>* explain = nullptr);

// The explain list as text, one line per event ("box 3 suppressed by box 0 at IoU 0.7123").
std::string format_nms_events(const std::vector<NmsEvent>& events, bool soft = false);

}  // namespace dg
