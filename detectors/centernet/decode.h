// CenterNet decoding (Zhou et al. 2019): from the three head outputs to boxes, scores and labels.
//   p = sigmoid(heatmap logits)                                  [N, C, H, W]
//   peaks: keep p where p == max_pool2d(p, 3, stride 1, pad 1)   (every cell of a plateau survives)
//   top-K (default 100) over all classes and cells of each image, by score (ties: lower class,
//     then lower cell index first -- class-major flat index c*H*W + y*W + x)
//   centre = (x + off_x, y + off_y), box = centre -+ (w, h)/2, all times the output stride
//   optionally mapped to image coordinates by a per-image affine map (both corners transformed)
//   optionally followed by class-wise NMS (hard, soft-linear, soft-gaussian, diou; detectors/nms.h)
// No score threshold by default (COCO evaluation wants all K). Nothing here is differentiable.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/detections.h"

namespace dg::centernet {

using det::Affine;  // network-input pixels -> image pixels (detectors/detections.h)
using det::Detections;
using det::post_nms_from_name;
using det::post_nms_name;
using det::PostNms;

struct DecodeOptions {
  int64_t topk = 100;
  double stride = 4;            // input pixels per output cell
  double score_threshold = -1;  // keep detections with score > this (default: all K)
  PostNms nms = PostNms::none;
  double nms_iou = 0.5;           // hard / diou threshold; soft-linear's Nt
  double soft_sigma = 0.5;        // soft-gaussian
  double soft_min_score = 0.001;  // soft-NMS drops boxes whose decayed score falls below this
};

// heatmap_logits [N,C,H,W], wh / offset [N,2,H,W]; to_image empty (identity) or one Affine per image.
std::vector<Detections> centernet_decode(const Tensor& heatmap_logits, const Tensor& wh, const Tensor& offset,
                                         const DecodeOptions& opt = {}, const std::vector<Affine>& to_image = {});

}  // namespace dg::centernet
