// RetinaNet training targets (Lin et al. 2017; torchvision's RetinaNetHead.compute_loss): per image,
// the IoU of its boxes with all anchors -> matcher (detectors/matcher.h): anchor a gets the class of
// its box (positive), kMatchBackground, or kMatchIgnore; the positives' box targets are
// box_encode(matched box, anchor) (detectors/box_coder.h). Targets, not ops: nothing here is
// differentiable. Tests: tests/detectors/test_retinanet.cpp.
//
// Shapes: N images, A anchors (all levels, detectors/anchors.h order), K classes, P positives in the batch.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/box_coder.h"
#include "detectors/conventions.h"
#include "detectors/matcher.h"

namespace dg::retinanet {

struct RetinaNetTargets {
  Tensor labels;                       // [N, A] i64: class 0..K-1, kMatchBackground or kMatchIgnore
  Tensor positives;                    // [P] i64: flat index n*A + a of each positive, ascending
  Tensor box_targets;                  // [P, 4] encoded deltas of the positives (anchors' dtype)
  std::vector<int64_t> num_positives;  // fg_n per image
};

// anchors [A,4] (f32/f64); boxes[n] [G_n,4] x1,y1,x2,y2 in input pixels (anchors' dtype), labels[n]
// G_n classes in 0..K-1. Boxes with width or height <= 0 are dropped (they overlap nothing); a NaN
// coordinate or a label outside 0..K-1 is a dg::Error naming the image and the box.
RetinaNetTargets retinanet_targets(const Tensor& anchors, const std::vector<Tensor>& boxes,
                                   const std::vector<std::vector<int64_t>>& labels, int64_t num_classes,
                                   const MatcherOptions& match = {}, const BoxCoderOptions& coder = {},
                                   const Conventions& conv = {});

// For `detgrad detect --explain`: the positive anchors of one image, in anchor order.
struct AnchorMatch {
  int64_t anchor = 0;           // index into the anchors of all levels
  int64_t level = 0;            // FPN level (3 = P3)
  std::array<double, 4> box{};  // the anchor, x1,y1,x2,y2 in input pixels
  int64_t gt = 0;               // index of the matched box in the image's box list
  double iou = 0;               // IoU of the anchor with that box
};
// level_sizes: anchors per level (retinanet_anchors' output), levels: their FPN levels.
std::vector<AnchorMatch> retinanet_positive_anchors(const Tensor& anchors, const std::vector<int64_t>& level_sizes,
                                                    const std::vector<int64_t>& levels, const Tensor& boxes,
                                                    const MatcherOptions& match = {}, const Conventions& conv = {});

}  // namespace dg::retinanet
