// FCOS inference decoding: from the flattened head outputs of a batch to per-image detections.
// Per image and per level (official FCOS / torchvision order of steps):
//   1. candidates: (point p, class k) with sigmoid(cls[k,p]) > score_threshold (the official code
//      thresholds the class probability; torchvision thresholds the final score instead)
//   2. score = sqrt(sigmoid(cls) * sigmoid(ctr))   (score_sqrt: official, torchvision)
//            = sigmoid(cls) * sigmoid(ctr)          (mmdet)
//   3. the topk_candidates best of the level by score (ties: lower p * K + k first)
//   4. box = (x - l, y - t, x + r, y + b) clipped to [0, W] x [0, H], (x, y) the point
// then all levels together: sorted by score (stable), det::class_wise_nms(nms), the first
// max_detections. Plain loops in a fixed order: the same result for any thread count. No gradient.
//
// Shapes: N images, K classes, P points (level after level, as fcos_points), boxes in input pixels.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/detections.h"
#include "detectors/task/detector.h"

namespace dg::fcos {

// cls [N,K,P] logits, box [N,4,P] (l,t,r,b) pixels, ctr [N,P] logits, points [P,2] (x, y);
// level_sizes sums to P; image_h x image_w is the network input (for clipping).
std::vector<det::Detections> fcos_decode(const Tensor& cls, const Tensor& box, const Tensor& ctr, const Tensor& points,
                                         const std::vector<int64_t>& level_sizes, int64_t image_h, int64_t image_w,
                                         const det::InferenceOptions& opt, bool score_sqrt = true);

}  // namespace dg::fcos
