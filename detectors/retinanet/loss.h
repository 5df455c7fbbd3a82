// RetinaNet training targets and loss (Lin et al. 2017; torchvision's RetinaNetHead.compute_loss).
//
//   targets  per image: IoU of its boxes with all anchors -> matcher (matcher.h): anchor a gets the
//            class of its box (positive), kMatchBackground, or kMatchIgnore; the positives' box
//            targets are box_encode(matched box, anchor) (coder.h).
//   cls      sum_n w_n sum_{a not ignored} sum_k FL(x[n,a,k], [k == class of a])
//   box      sum_n w_n sum_{a positive} sum_j |d[n,a,j] - t[n,a,j]|     (or smooth L1 with beta)
//   total    cls + box
// FL is torchvision's sigmoid_focal_loss (focal_loss.h): alpha_t (1 - p_t)^gamma BCE.
// Normalisers w_n: "per_image" (torchvision) w_n = 1 / (N max(1, fg_n)): each image's sums over its
// own positives, then the mean over images; "batch_fg" (Detectron) w_n = 1 / max(1, sum_n fg_n).
// An image without boxes: every anchor is background, it adds to cls only (box 0, never NaN).
//
// Shapes: N images, A anchors (all levels, anchors.h order), K classes, P positives in the batch.
//   cls_logits [N, A, K]   box_deltas [N, A, 4]   (flatten_head_outputs of the per-level maps)
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/retinanet/model.h"

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

// Per-level head maps -> [N, A, C] (C = K or 4): each [N, A_l*C, H_l, W_l] is permuted to
// [N, H_l, W_l, A_l*C] = [N, H_l W_l A_l, C] and the levels are concatenated (torchvision's order).
Tensor flatten_head_outputs(const std::vector<Tensor>& per_level, int64_t C);

// The fused focal-loss sum (one op, forward and backward side by side in loss.cpp):
//   out = sum_n w[n] sum_{a: labels[n,a] != kMatchIgnore} sum_k FL(logits[n,a,k], [k == labels[n,a]])
// logits [N,A,K] f32/f64 -> scalar; labels [N,A] i64; w has N entries. Accumulated in double, one
// image per thread: the same bits for any thread count.
Tensor retinanet_focal_sum(const Tensor& logits, const Tensor& labels, const std::vector<double>& w,
                           double alpha = 0.25, double gamma = 2.0);

struct RetinaNetLoss {
  Tensor total, cls, box;   // scalars; total = cls + box, differentiable w.r.t. both head outputs
};

// The loss above from the flattened head outputs and the targets; cfg gives the focal constants,
// the normaliser and the box loss.
RetinaNetLoss retinanet_loss(const Tensor& cls_logits, const Tensor& box_deltas, const RetinaNetTargets& t,
                             const RetinaNetConfig& cfg);

// For `detgrad detect --explain`: the positive anchors of one image, in anchor order.
struct AnchorMatch {
  int64_t anchor = 0;              // index into the anchors of all levels
  int64_t level = 0;               // FPN level (3 = P3)
  std::array<double, 4> box{};     // the anchor, x1,y1,x2,y2 in input pixels
  int64_t gt = 0;                  // index of the matched box in the image's box list
  double iou = 0;                  // IoU of the anchor with that box
};
// level_sizes: anchors per level (retinanet_anchors' output), levels: their FPN levels.
std::vector<AnchorMatch> retinanet_positive_anchors(const Tensor& anchors, const std::vector<int64_t>& level_sizes,
                                                    const std::vector<int64_t>& levels, const Tensor& boxes,
                                                    const MatcherOptions& match = {}, const Conventions& conv = {});

}  // namespace dg::retinanet
