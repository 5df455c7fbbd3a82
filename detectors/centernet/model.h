// CenterNet (Zhou et al. 2019, "Objects as Points"), the ResNet variant: a ResNet-18 backbone (C5,
// stride 32), three up-convolution stages back to stride 4, and three small heads.
//
//   x [N,3,H,W]
//   backbone: ResNet-18 (width_mult), C5                         [N, c5, H/32, W/32]
//   deconv.{0,1,2}: ConvTranspose2d k4 s2 p1 (no bias) -> BN -> ReLU   each doubles H and W
//                                                                  [N, up[2], H/4, W/4]
//   heads hm / wh / reg: 3x3 conv (bias) -> ReLU -> 1x1 conv (bias)
//     heatmap logits [N, C, H/4, W/4]   final bias -2.19 = -log((1-0.1)/0.1): prior 0.1
//     wh             [N, 2, H/4, W/4]   box (w, h) in output cells
//     offset         [N, 2, H/4, W/4]   sub-cell centre offset
// H and W must be multiples of 32.
//
// state_dict names (stable; docs/centernet_model.md):
//   backbone.conv1.weight, backbone.bn1.*, backbone.layer1.0.conv1.weight, ... (torchvision ResNet
//     names under "backbone.", without avgpool/fc)
//   deconv.<i>.conv.weight, deconv.<i>.bn.{weight,bias,running_mean,running_var,num_batches_tracked}
//   hm.0.{weight,bias}, hm.2.{weight,bias}   (index 1 is the ReLU), same for wh.* and reg.*
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "autograd/generator.h"
#include "detectors/task/detector.h"
#include "layers/activation.h"
#include "layers/backbone.h"
#include "layers/conv.h"
#include "layers/norm.h"
#include "layers/resnet.h"
#include "layers/sequential.h"

namespace dg::centernet {

struct CenterNetConfig {
  int64_t num_classes = 80;
  std::string backbone = "resnet18";                  // any make_backbone name; its C5 feeds the up stages
  double width_mult = 1.0;                            // ResNet widths 64..512 times this (resnet18/34 only)
  std::vector<int64_t> up_channels = {256, 128, 64};  // the three up-convolution stages
  int64_t head_channels = 64;
  double heatmap_prior = 0.1;  // heatmap final bias = -log((1-p)/p) = -2.19
  int64_t max_objs = 32;       // objects per image that get training targets

  nlohmann::json to_json() const;
  // to_json() without "backbone" when it is resnet18 (NOTE [ Default backbone key ]).
  nlohmann::json saved_json() const;
  static CenterNetConfig from_json(const nlohmann::json& j, const std::string& context);

  // A small network for CPU budgets: width 0.25, up widths 64,32,32, head width 32.
  static CenterNetConfig cpu(int64_t num_classes);
};

// One up-convolution stage: ConvTranspose2d(in, out, 4, stride 2, pad 1, no bias) -> BN -> ReLU.
class UpStage : public nn::Module {
 public:
  UpStage(int64_t in, int64_t out, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::ConvTranspose2d> conv;
  std::shared_ptr<nn::BatchNorm2d> bn;
  std::shared_ptr<nn::ReLU> relu;
};

struct CenterNetOutput {
  Tensor heatmap;  // logits [N, C, H/4, W/4] (before the sigmoid)
  Tensor wh;       // [N, 2, H/4, W/4]
  Tensor offset;   // [N, 2, H/4, W/4]
};

// The network: backbone, up-convolutions and heads. The task interface (loss, detect, config) is
// CenterNetDetector's (detectors/centernet/detector.h).
class CenterNet : public det::Detector {
 public:
  CenterNet(const CenterNetConfig& cfg, Generator& gen);
  CenterNetOutput forward_heads(const Tensor& x);
  int64_t stride() const { return 4; }

  CenterNetConfig cfg;
  std::shared_ptr<nn::Backbone> backbone;
  std::shared_ptr<nn::Sequential> deconv;
  std::shared_ptr<nn::Sequential> hm, wh, reg;
};

// The number of parameters of CenterNet(cfg) by formula (checked against num_parameters() in the
// tests): ResNet-18 without fc + up stages (16 in out + 2 out each) + heads (9 c3 h + h + h k + k).
int64_t centernet_num_parameters(const CenterNetConfig& cfg);

}  // namespace dg::centernet
