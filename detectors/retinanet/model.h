// RetinaNet (Lin et al. 2017, "Focal Loss for Dense Object Detection"): the network and its config.
// A ResNet-18 backbone, an FPN over C_first..C5 (plus P6/P7 from P5 when last_level is 7), and one
// head shared by every level: a classification tower and a box tower, each head_depth x
// [3x3 conv -> (GroupNorm) -> ReLU], then a 3x3 conv to A*K class logits and one to A*4 box deltas.
//
//   x [N,3,H,W]                 H, W multiples of 32
//   backbone ResNet-18 (width_mult)  C_l [N, c_l, H/2^l, W/2^l]       l = first_level..5
//   fpn  P_l [N, F, H_l, W_l]   l = first_level..last_level, F = fpn_channels, H_l = ceil(H / 2^l)
//   head.classification_head    cls_l [N, A*K, H_l, W_l]   channel a*K + k (anchor a, class k)
//   head.regression_head        box_l [N, A*4, H_l, W_l]   channel a*4 + j (dx, dy, dw, dh)
//   A = |anchor_ratios| * scales_per_octave anchors per location (9), K = num_classes.
//
// Init as torchvision's RetinaNet heads: every head conv N(0, 0.01), bias 0, except the class
// logits' bias -log((1 - prior) / prior) (prior 0.01: -4.595), so every anchor starts at p = 0.01
// and the ~100k background anchors do not swamp the first steps (paper Sec. 4.1).
//
// state_dict names (docs/detection/retinanet_model.md):
//   backbone.*   torchvision ResNet names without fc (torchvision RetinaNet: backbone.body.*)
//   fpn.*        layers/fpn.h names (torchvision: backbone.fpn.*)
//   head.classification_head.conv.<i>.0.{weight,bias}   tower conv i (no bias with "gn")
//   head.classification_head.conv.<i>.1.{weight,bias}   its GroupNorm ("gn" only)
//   head.classification_head.cls_logits.{weight,bias}
//   head.regression_head.conv.<i>.*, head.regression_head.bbox_reg.{weight,bias}
// (conv.<i> is torchvision's Conv2dNormActivation: 0 conv, 1 norm or ReLU, 2 ReLU after a norm.)
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "detectors/anchors.h"
#include "detectors/box_coder.h"
#include "detectors/conventions.h"
#include "detectors/matcher.h"
#include "layers/conv.h"
#include "layers/sequential.h"
#include "layers/trunk.h"

namespace dg::retinanet {

// Every field is in config_json(); the defaults are torchvision's RetinaNet (v1) semantics except the
// network sizes, which cpu() shrinks. References per field: docs/detection/retinanet_model.md.
struct RetinaNetConfig {
  int64_t num_classes = 80;
  // ---- network ----
  std::string backbone = "resnet18";  // any make_backbone name (layers/backbone.h); NOTE [ Default backbone key ]
  double width_mult = 1.0;            // ResNet widths 64..512 times this (resnet18/34 only)
  int64_t first_level = 3;            // FPN levels P_first..P_last; first in 2..5
  int64_t last_level = 7;             // 5, or 7 = P6/P7 from P5 (3x3/2 convs, ReLU before P7)
  int64_t fpn_channels = 256;
  int64_t head_depth = 4;          // tower convs per branch
  std::string head_norm = "none";  // "none" (v1: conv + ReLU) | "gn" (v2: conv, GroupNorm, ReLU)
  int64_t head_gn_groups = 32;     // GroupNorm groups ("gn"); must divide fpn_channels
  double head_init_std = 0.01;     // N(0, std) head conv weights
  double prior = 0.01;             // class-logit bias -log((1 - prior) / prior)
  // ---- anchors ----
  double anchor_size = 4.0;                             // base size per level = anchor_size * stride (32 on P3)
  int64_t scales_per_octave = 3;                        // scales 2^(i / n), i = 0..n-1
  std::vector<double> anchor_ratios = {0.5, 1.0, 2.0};  // h / w
  bool anchor_round = true;                             // torchvision: sizes truncated, corners rounded (AnchorOptions)
  // ---- matching and box coding ----
  double fg_iou = 0.5, bg_iou = 0.4;  // IoU >= fg positive, < bg background, in between ignored
  bool allow_low_quality = true;
  std::vector<double> coder_weights = {1.0, 1.0, 1.0, 1.0};  // wx, wy, ww, wh
  // ---- loss ----
  double focal_alpha = 0.25;  // < 0: no alpha_t factor
  double focal_gamma = 2.0;
  std::string focal_normalizer = "per_image";  // "per_image" (torchvision) | "batch_fg" (Detectron)
  std::string box_loss = "l1";                 // "l1" (torchvision, mmdet) | "smooth_l1"
  double box_loss_beta = 0.1;                  // smooth_l1 only (detectron2 0.1, Detectron 0.11); 0 = L1
  // ---- inference (default_inference) ----
  double score_threshold = 0.05;
  int64_t topk_candidates = 1000;      // per level
  double nms_threshold = 0.5;          // class-wise hard NMS
  int64_t detections_per_image = 100;  // torchvision keeps 300

  // The CPU network: ResNet-18 x0.25, FPN P3-P5 x64, head 4 x 64.
  static RetinaNetConfig cpu(int64_t num_classes);
  nlohmann::json to_json() const;
  // to_json() without "backbone" when it is the default resnet18: the form saved in model files.
  nlohmann::json saved_json() const;
  nn::TrunkOptions trunk_options() const;
  // The inverse of to_json: every key must be known and of the right JSON type; missing keys keep
  // the cpu(num_classes) defaults ("num_classes" is required). Validates the result.
  static RetinaNetConfig from_json(const nlohmann::json& j);
  void validate() const;  // dg::Error "retinanet: ..." for a bad field

  std::vector<int64_t> levels() const;   // first_level..last_level
  std::vector<int64_t> strides() const;  // 2^level
  int64_t anchors_per_location() const { return (int64_t)anchor_ratios.size() * scales_per_octave; }
  AnchorOptions anchor_options(int64_t image_h, int64_t image_w) const;
  Conventions conventions() const;  // the box family (matching IoU): the torchvision preset
  MatcherOptions matcher_options() const;
  BoxCoderOptions coder_options() const;
};

// One branch of the head: conv.<i> = [3x3 conv (bias unless GN), (GroupNorm), ReLU] x depth, then a
// 3x3 conv with `out` channels registered as `out_name` ("cls_logits" or "bbox_reg").
class RetinaNetBranch : public nn::Module {
 public:
  RetinaNetBranch(const RetinaNetConfig& cfg, int64_t out, const std::string& out_name, double out_bias,
                  Generator& gen);
  Tensor forward(const Tensor& x) override;  // [N, F, h, w] -> [N, out, h, w]
  std::shared_ptr<nn::Sequential> conv;
  std::shared_ptr<nn::Conv2d> last;
};

// classification_head (A*K outputs) and regression_head (A*4), shared by all levels.
class RetinaNetHead : public nn::Module {
 public:
  RetinaNetHead(const RetinaNetConfig& cfg, Generator& gen);
  std::shared_ptr<RetinaNetBranch> classification_head, regression_head;
};

// Parameters of the whole network by formula (checked against num_parameters() in the tests):
// ResNet-18 without fc + FPN (layers/fpn.h) + 2 towers (depth x (9F^2 + F [bias] or 9F^2 + 2F [GN]))
// + cls_logits (9 F A K + A K) + bbox_reg (9 F A 4 + A 4).
int64_t retinanet_num_parameters(const RetinaNetConfig& cfg);

}  // namespace dg::retinanet
