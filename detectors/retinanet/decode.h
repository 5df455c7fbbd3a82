// RetinaNet inference (torchvision's RetinaNet.postprocess_detections), per image:
//   for each level: s = sigmoid(cls) over all anchors x classes; keep s > score_threshold; keep the
//     topk_candidates best (ties: lower flat index (anchor, class) first); decode their boxes with
//     box_decode (coder.h) on their anchors; clip to [0, W] x [0, H]
//   all levels together: class-wise NMS (opt.nms; detections.h), then the first max_detections.
// Detections are in network-input pixels, scores descending. Nothing here is differentiable.
//
// Shapes (K classes, A_l anchors per location of level l):
//   cls[l] [N, A_l*K, H_l, W_l] logits      channel a*K + k
//   box[l] [N, A_l*4, H_l, W_l] deltas      channel a*4 + j
//   anchors [sum_l H_l W_l A_l, 4]          level after level, (y*W_l + x)*A_l + a (anchors.h)
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/box_coder.h"
#include "detectors/detections.h"
#include "detectors/task/detector.h"

namespace dg::retinanet {

// Images are decoded in parallel, each by one thread: the same result for any thread count.
std::vector<det::Detections> retinanet_decode(const std::vector<Tensor>& cls, const std::vector<Tensor>& box,
                                              const Tensor& anchors, int64_t num_classes, int64_t image_h,
                                              int64_t image_w, const det::InferenceOptions& opt,
                                              const BoxCoderOptions& coder = {});

}  // namespace dg::retinanet
