// Detections, and the post-processing every detector shares: class-wise NMS of one image's boxes
// (hard, Soft-NMS linear/gaussian, DIoU-NMS; the kernels are detectors/nms.h), the map from
// network-input pixels back to the image, and keeping the best k.
//
//   Detections   boxes [M,4] (x1,y1,x2,y2), scores [M] (descending), labels [M] i64 (0..K-1)
//   Affine       x' = a[0] x + a[1] y + a[2],  y' = a[3] x + a[4] y + a[5]
//
// CenterNet, FCOS and RetinaNet all end in class_wise_nms(); `--nms` on detect/eval picks its kind.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace dg::det {

struct Detections {
  Tensor boxes;   // [M, 4] x1,y1,x2,y2
  Tensor scores;  // [M] descending
  Tensor labels;  // [M] i64 class index
  int64_t size() const { return scores.defined() ? scores.numel() : 0; }
};

// From plain arrays (boxes 4 per detection) in the given float dtype; labels i64.
Detections make_detections(const std::vector<double>& boxes, const std::vector<double>& scores,
                           const std::vector<int64_t>& labels, DType dtype = DType::f32);
Detections empty_detections(DType dtype = DType::f32);

using Affine = std::array<double, 6>;
inline constexpr Affine kIdentity{1, 0, 0, 0, 1, 0};

enum class PostNms { none, hard, soft_linear, soft_gaussian, diou };
// "none" | "hard" | "soft-linear" | "soft-gaussian" | "diou"; anything else => dg::Error listing them.
PostNms post_nms_from_name(const std::string& name);
const char* post_nms_name(PostNms m);

struct NmsOptions {
  PostNms kind = PostNms::none;
  double iou = 0.5;               // hard / diou threshold; soft-linear's Nt
  double soft_sigma = 0.5;        // soft-gaussian
  double soft_min_score = 0.001;  // soft-NMS drops boxes whose decayed score falls below this
};

// Class-wise NMS (each class on its own); the survivors sorted by descending score (stable: equal
// scores keep their input order). Soft kinds return the decayed scores. kind none: unchanged.
Detections class_wise_nms(const Detections& d, const NmsOptions& opt);

// Both corners mapped by a (an axis-aligned map: scale and shift).
Detections map_boxes(const Detections& d, const Affine& a);

// Network-input boxes back to an image of height x width: map_boxes by a (the inverse of the
// letterbox), then clipped to [0, width] x [0, height]; boxes left with no area (they lay wholly
// outside the image) are dropped. Scores keep their order.
Detections boxes_to_image(const Detections& d, const Affine& a, int64_t height, int64_t width);

// The first k (d is sorted by score).
Detections keep_first(const Detections& d, int64_t k);

}  // namespace dg::det
