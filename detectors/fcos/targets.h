// FCOS target assignment (Tian et al. 2019, "FCOS: Fully Convolutional One-Stage Object Detection"):
// which feature-map point regresses which ground-truth box, its ltrb distances and its centerness.
// Targets, not ops: nothing here is differentiable. Every disagreement between the official code,
// mmdetection and torchvision is a field of FcosAssignOptions (apply_preset picks a reference's values;
// FcosConfig::assign_options fills them from the model's config). Docs: docs/detection/assign.md.
// Tests: tests/detectors/test_fcos_assign.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/data/augment.h"

namespace dg {

struct FcosAssignOptions {
  int64_t image_h = 512, image_w = 512;  // level l has ceil(H/s_l) x ceil(W/s_l) points
  std::vector<int64_t> strides = {8, 16, 32, 64, 128};
  // Scale ranges (lo, hi) of max(l,t,r,b) per level. Empty: the FCOS defaults [-1,8s_0], [4s,8s], ...,
  // [4s_last, inf], i.e. [-1,64], [64,128], [128,256], [256,512], [512,inf] for strides 8..128.
  std::vector<std::pair<double, double>> ranges;
  // Where references disagree (defaults: torchvision; see apply_preset and docs/conventions.md):
  bool half_stride_offset = false;  // points at x*s + s//2 (official, mmdet) or x*s (torchvision)
  bool range_inclusive = false;     // lo <= m <= hi (official, mmdet) or strict lo < m < hi (torchvision)
  bool center_sampling = true;      // torchvision on; official and mmdet default configs off
  double center_radius = 1.5;       // centre-sampling radius, in strides
  bool norm_on_bbox = false;        // ltrb targets divided by the level's stride (mmdet's norm_on_bbox);
                                    // detgrad's FCOS keeps targets in pixels and scales its head instead
};

// Sets the convention fields of opt (not the geometry) to a reference's values: "torchvision" (the
// struct's defaults), "mmdet" or "original" (the FCOS repository). Unknown preset => dg::Error.
void apply_preset(FcosAssignOptions& opt, const std::string& preset);

// Points of every level, level after level, row-major within a level (x fastest): [P,2] (x, y) in input
// pixels, at (x*s + s//2, y*s + s//2) with opt.half_stride_offset, else (x*s, y*s). dtype f32/f64.
// level_sizes (optional) gets the point count of each level.
Tensor fcos_points(const FcosAssignOptions& opt, DType dtype = DType::f32, std::vector<int64_t>* level_sizes = nullptr);

struct FcosTargets {
  Tensor points;      // [P,2] (x, y)
  Tensor labels;      // [P] i64: the class of the assigned box, -1 for background
  Tensor matched;     // [P] i64: index of the assigned box, -1 for background
  Tensor ltrb;        // [P,4] (l, t, r, b) to the assigned box (divided by the level's stride with
                      // opt.norm_on_bbox); 0 for background
  Tensor centerness;  // [P] sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b)); 0 for background
};

// Assigns every point. A point p of level l (stride s) is a candidate for box g when
//   1. p is strictly inside g: min(l,t,r,b) > 0, l = x-x1, t = y-y1, r = x2-x, b = y2-y;
//   2. with opt.center_sampling: also |x - cx| < R and |y - cy| < R, R = opt.center_radius * s
//      (the same as "inside the centre box clipped to g");
//   3. m = max(l,t,r,b) is in the level's range: lo <= m <= hi (opt.range_inclusive) or lo < m < hi.
// Among candidates the box of smallest area (x2-x1)*(y2-y1) wins; equal areas: the lower box index.
// boxes [G,4] (f32/f64; arithmetic in that dtype), labels [G] integers. G = 0 gives all background.
FcosTargets fcos_targets(const Tensor& boxes, const Tensor& labels, const FcosAssignOptions& opt);

}  // namespace dg

namespace dg::fcos {

struct FcosBatchTargets {
  Tensor onehot;                   // [N, K, P] classification targets (the dtype asked for)
  Tensor pos_index;                // [M] i64: n * P + p of every positive, ascending
  Tensor pos_box;                  // [M, 4] (l, t, r, b) in input pixels
  Tensor pos_ctr;                  // [M] centerness targets, in (0, 1]
  std::vector<int64_t> pos_label;  // [M] class of every positive
  int64_t num_pos = 0;             // M
};

// fcos_targets of every image, gathered into batch arrays. boxes[i] / labels[i]: image i's boxes
// (x1,y1,x2,y2 in input pixels) and labels 0..K-1 (anything else => dg::Error naming image and box).
FcosBatchTargets fcos_batch_targets(const std::vector<std::vector<data::Box>>& boxes,
                                    const std::vector<std::vector<int>>& labels, int64_t num_classes,
                                    const FcosAssignOptions& opt, DType dtype = DType::f32);

}  // namespace dg::fcos
