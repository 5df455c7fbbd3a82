// FCOS network (Tian et al. 2019, "FCOS: Fully Convolutional One-Stage Object Detection"):
// ResNet-18 + FPN + one head shared by every pyramid level. Docs: docs/detection/fcos_model.md.
//
//   x [N,3,H,W]                                  H, W multiples of 32
//   backbone: ResNet-18 (width_mult)  C3, C4, C5 [N, c_l, H/2^l, W/2^l]   (C_first..C5 are used)
//   fpn:      P_first..P5 (+ P6, P7 = 3x3/2 convs from P5 when last_level = 7), all fpn_channels (C)
//   head, per level l (same weights on every level):
//     cls_tower  = head_depth x [3x3 conv C->C (bias) -> GroupNorm(gn_groups, C) -> ReLU]
//     bbox_tower = the same, its own weights
//     cls_logits(cls_tower)          3x3 conv C->K        [N, K, H_l, W_l]   logits
//     bbox_pred(bbox_tower) -> x     3x3 conv C->4        [N, 4, H_l, W_l]
//         box ltrb (input pixels) = ReLU(scale_l x) * stride_l   (norm_on_bbox)
//                                 = exp(scale_l x)              (otherwise, the original FCOS)
//     centerness(bbox_tower or cls_tower, see centerness_on_reg)  3x3 conv C->1  [N, 1, H_l, W_l] logits
//   Levels are then flattened, level after level and row-major inside a level (x fastest), into
//   P = sum_l H_l W_l points: FcosHeadOutput, the order of fcos_points (detectors/fcos/targets.h).
//
// Init (paper, torchvision): every head conv N(0, 0.01), bias 0; cls_logits bias -log((1-pi)/pi),
// pi = prior_prob = 0.01 (-4.595); GroupNorm 1/0; scales 1; backbone and FPN their own inits.
//
// state_dict names (stable, as the official FCOS code's FCOSHead):
//   backbone.*                 torchvision ResNet names (no fc)
//   fpn.*                      layers/fpn.h: inner_blocks.i.0.*, layer_blocks.i.0.*, extra_blocks.p6/p7.*
//   head.cls_tower.<3j>.{weight,bias}    conv j;  head.cls_tower.<3j+1>.{weight,bias}  GroupNorm j
//   head.bbox_tower.<3j>.*, head.bbox_tower.<3j+1>.*                   (index 3j+2 is the ReLU)
//   head.cls_logits.{weight,bias}, head.bbox_pred.{weight,bias}, head.centerness.{weight,bias}
//   head.scales.<i>.scale       i = 0 for the finest level used
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "detectors/fcos/targets.h"
#include "detectors/task/detector.h"
#include "layers/fpn.h"
#include "layers/resnet.h"
#include "layers/scale.h"
#include "layers/sequential.h"
#include "layers/trunk.h"

namespace dg::fcos {

struct FcosConfig {
  int64_t num_classes = 80;
  std::string backbone = "resnet18";  // any make_backbone name (layers/backbone.h); see NOTE [ Default backbone key ]
  double width_mult = 1.0;            // ResNet widths 64..512 times this (resnet18/34 only)
  int64_t first_level = 3;            // P3 (stride 8) .. : 3, 4 or 5
  int64_t last_level = 7;             // 5 (P3-P5) or 7 (P6/P7 from P5, the paper)
  int64_t fpn_channels = 256;         // FPN and head width
  int64_t head_depth = 4;             // conv-GN-ReLU layers per tower
  int64_t gn_groups = 32;             // GroupNorm(32, C) as torchvision; C % groups must be 0
  double prior_prob = 0.01;           // cls_logits bias = -log((1-p)/p)
  bool centerness_on_reg = true;      // centerness on the bbox tower (official "imprv", torchvision, mmdet)
  bool norm_on_bbox = true;           // box = ReLU(scale x) * stride (official "imprv"); false: exp(scale x)
  bool score_sqrt = true;  // detection score sqrt(cls * ctr) (official, torchvision); false: cls * ctr (mmdet)
  std::string box_loss_weighting = "centerness";  // "centerness" (official) | "none" (torchvision)
  // Target assignment (FcosAssignOptions in detectors/fcos/targets.h): the official FCOS "imprv" config.
  bool half_stride_offset = true;  // points at x*s + s//2 (official, mmdet); false: x*s (torchvision)
  bool center_sampling = true;     // official imprv, torchvision
  double center_radius = 1.5;
  bool range_inclusive = true;  // lo <= m <= hi (official, mmdet); false: strict (torchvision)
  double focal_alpha = 0.25, focal_gamma = 2.0;
  double nms_threshold = 0.6;  // class-wise hard NMS (official, torchvision; mmdet 0.5)

  // The CPU default: ResNet-18 x0.25 + FPN P3-P5 x64, head depth 4, GN 32.
  static FcosConfig cpu(int64_t num_classes);
  nlohmann::json to_json() const;  // every field, including "num_classes"
  // to_json() without "backbone" when it is the default resnet18: the form saved in model files
  // (NOTE [ Default backbone key ] in detectors/task/detector.h).
  nlohmann::json saved_json() const;
  // Every field of to_json() must be present (a saved config is complete), except "backbone"
  // (absent: resnet18); unknown keys => dg::Error.
  static FcosConfig from_json(const nlohmann::json& j);
  void validate() const;  // dg::Error "fcos: ..." for an unusable value

  nn::TrunkOptions trunk_options() const;
  std::vector<int64_t> levels() const;   // first_level..last_level
  std::vector<int64_t> strides() const;  // 2^level
  // The assignment for an input of h x w: strides, FCOS default ranges, the assignment fields above
  // (norm_on_bbox off: targets in pixels).
  FcosAssignOptions assign_options(int64_t h, int64_t w) const;
};

// The head shared by every level (see the file comment).
class FcosHead : public nn::Module {
 public:
  FcosHead(const FcosConfig& cfg, Generator& gen);
  std::shared_ptr<nn::Sequential> cls_tower, bbox_tower;
  std::shared_ptr<nn::Conv2d> cls_logits, bbox_pred, centerness;
  std::shared_ptr<nn::ModuleList> scales;  // nn::Scale, one per level
};

// The head outputs of all levels, flattened to P points (the order of fcos_points).
struct FcosHeadOutput {
  Tensor cls;                                           // [N, K, P] logits
  Tensor box;                                           // [N, 4, P] (l, t, r, b) >= 0 in input pixels
  Tensor ctr;                                           // [N, P] centerness logits
  std::vector<Tensor> level_cls, level_box, level_ctr;  // per level [N,K,H_l,W_l], [N,4,..], [N,1,..]
  std::vector<int64_t> level_sizes;                     // H_l * W_l
};

// The network: backbone, FPN and head as children "backbone", "fpn", "head". The Detector interface
// (loss, detect, config) is FcosDetector's (detectors/fcos/detector.h).
class Fcos : public det::Detector {
 public:
  Fcos(const FcosConfig& cfg, Generator& gen);
  // x [N,3,H,W] (H, W multiples of 32) -> the head outputs of every level.
  FcosHeadOutput forward_heads(const Tensor& x);

  FcosConfig cfg;
  nn::Trunk trunk;  // backbone + FPN, registered as "backbone" and "fpn"
  std::shared_ptr<FcosHead> head;
};

// The number of parameters of Fcos(cfg) by formula (checked against num_parameters() in the tests):
// ResNet-18 without fc + FPN (in_l C + C + 9C^2 + C per level, + 2 (9C^2 + C) for P6/P7)
// + head (2 depth (9C^2 + C + 2C) + 9CK + K + 36C + 4 + 9C + 1 + L scales).
int64_t fcos_num_parameters(const FcosConfig& cfg);

}  // namespace dg::fcos
