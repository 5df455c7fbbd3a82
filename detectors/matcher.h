// RetinaNet's anchor-to-box matcher (Lin et al. 2017, Sec. 4; torchvision.models.detection._utils.Matcher):
// an anchor is positive when its best IoU with a ground-truth box is >= 0.5, background when < 0.4,
// ignored in between. Docs: docs/detection/assign.md. Tests: tests/detectors/test_retinanet.cpp.
#pragma once
#include <cstdint>

#include "autograd/tensor.h"
#include "detectors/conventions.h"

namespace dg {

constexpr int64_t kMatchBackground = -1;  // IoU < low
constexpr int64_t kMatchIgnore = -2;      // low <= IoU < high: no loss at all

struct MatcherOptions {
  double high = 0.5;  // >= high: positive
  double low = 0.4;   // < low: background; low <= IoU < high: ignored
  // For every box, the anchors that reach its best IoU become positive (matched to THEIR best box,
  // as torchvision does), even below `high`, so that no box is left without an anchor.
  bool allow_low_quality = true;
};

// iou [G, A] (ground truths x anchors, f32/f64) -> matches [A] i64: the index of the best box
// (the lowest index among equal IoUs) for positives, kMatchBackground or kMatchIgnore otherwise.
// Zero-IoU guard: a box whose best IoU is 0 adds no low-quality match (torchvision has no guard: there
// every anchor tied at 0 would become positive). G = 0: every anchor is background.
Tensor retinanet_match(const Tensor& iou, const MatcherOptions& opt = {});

// The same from boxes [G,4] and anchors [A,4] (x1,y1,x2,y2, same dtype) via their pairwise IoU
// (dg::box_iou of detectors/iou.h, with conv.pixel_offset).
Tensor retinanet_match_boxes(const Tensor& boxes, const Tensor& anchors, const MatcherOptions& opt = {},
                             const Conventions& conv = {});

}  // namespace dg
