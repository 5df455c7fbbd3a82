// RetinaNet training loss (Lin et al. 2017; torchvision's RetinaNetHead.compute_loss).
//
//   targets  retinanet_targets (detectors/retinanet/targets.h): per anchor a class, background or ignore,
//            and the positives' encoded box targets.
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
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/retinanet/model.h"
#include "detectors/retinanet/targets.h"

namespace dg::retinanet {

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
  Tensor total, cls, box;  // scalars; total = cls + box, differentiable w.r.t. both head outputs
};

// The loss above from the flattened head outputs and the targets; cfg gives the focal constants,
// the normaliser and the box loss.
RetinaNetLoss retinanet_loss(const Tensor& cls_logits, const Tensor& box_deltas, const RetinaNetTargets& t,
                             const RetinaNetConfig& cfg);

}  // namespace dg::retinanet
