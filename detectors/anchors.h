// RetinaNet anchors (Lin et al. 2017, "Focal Loss for Dense Object Detection", Sec. 4): on every level
// (strides 8..128, P3-P7) and every location, sizes x scales x ratios boxes centred on the location.
// Docs: docs/detection/assign.md. Tests: tests/detectors/test_retinanet.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace dg {

struct AnchorOptions {
  int64_t image_h = 512, image_w = 512;  // level l has ceil(H/s_l) x ceil(W/s_l) locations
  std::vector<int64_t> strides = {8, 16, 32, 64, 128};
  std::vector<double> sizes;                     // base size per level; empty: 4 * stride (32..512)
  std::vector<double> scales;                    // empty: 2^0, 2^(1/3), 2^(2/3) (octave scales)
  std::vector<double> ratios = {0.5, 1.0, 2.0};  // aspect ratios h / w
  // torchvision (true): sizes truncated to integers (32, 40, 50, ...) and corners rounded half-to-even
  // (torch.round), as its AnchorGenerator; false: exact values (detectron2, mmdet, Detectron).
  bool anchor_round = true;
};

// Sets the convention fields of opt (anchor_round) to a reference's values: "torchvision" (true),
// "mmdet" or "original" (false). Unknown preset => dg::Error.
void apply_preset(AnchorOptions& opt, const std::string& preset);

// The A = |ratios| * |scales| anchors of one location centred at (0,0), [A,4] (x1,y1,x2,y2), ratio-major
// (for each ratio, each scale), for a level with base size `size`. With size_i = size * scale_i,
// h = size_i * sqrt(ratio), w = size_i / sqrt(ratio), the anchor is (-w/2, -h/2, w/2, h/2).
// With opt.anchor_round size_i is truncated to an integer and the corners are rounded.
Tensor cell_anchors(double size, const AnchorOptions& opt, DType dtype = DType::f32);

// All anchors of all levels: level after level, location-major (row-major, x fastest), A anchors per
// location: [sum_l H_l W_l A, 4]. Location (x, y) of level l is shifted by (x*s, y*s) (torchvision's
// grid, offset 0). level_sizes (optional) gets each level's anchor count.
Tensor retinanet_anchors(const AnchorOptions& opt, DType dtype = DType::f32,
                         std::vector<int64_t>* level_sizes = nullptr);

}  // namespace dg
