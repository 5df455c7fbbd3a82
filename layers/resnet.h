// ResNet-18 / ResNet-34 (He et al. 2016) with torchvision's structure and state_dict names.
//
//   x [N,3,H,W]
//   conv1 7x7/2 (64) -> bn1 -> relu -> maxpool 3x3/2        stride 4
//   layer1: n1 x BasicBlock(64)                   -> C2     stride 4,  64 ch
//   layer2: n2 x BasicBlock(128), first stride 2  -> C3     stride 8, 128 ch
//   layer3: n3 x BasicBlock(256), first stride 2  -> C4     stride 16, 256 ch
//   layer4: n4 x BasicBlock(512), first stride 2  -> C5     stride 32, 512 ch
//   avgpool (global) -> flatten -> fc (512 -> num_classes)
//   ResNet-18: n = 2,2,2,2 (11,689,512 parameters); ResNet-34: n = 3,4,6,3 (21,797,672).
//
// BasicBlock(in, planes, stride):
//        x ------------------------------------------+
//        |                                           | downsample (only when stride != 1 or in != planes):
//   conv1 3x3/stride -> bn1 -> relu                  |   downsample.0 conv 1x1/stride, downsample.1 BN
//   conv2 3x3        -> bn2                          |
//        +------------------- add <------------------+
//                              relu
//   Parameters: 9 in planes + 9 planes^2 + 4 planes (+ in planes + 2 planes with downsample).
//
// width_mult scales every width (64, 128, 256, 512 -> round(w * mult)), for CPU budgets; 1.0 is
// torchvision's network. Init as torchvision: convs kaiming_normal_(fan_out, relu), BN 1/0, fc
// PyTorch's Linear default.
#pragma once
#include <vector>

#include "autograd/generator.h"
#include "layers/activation.h"
#include "layers/backbone.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/sequential.h"

namespace dg::nn {

class BasicBlock : public Module {
 public:
  BasicBlock(int64_t in_planes, int64_t planes, int64_t stride, Generator& gen);
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<Sequential> downsample;  // null when the shortcut is the identity
};

struct ResNetOptions {
  int depth = 18;  // 18 or 34
  double width_mult = 1.0;
  int64_t num_classes = 1000;
  bool include_top = true;  // false: no avgpool/fc (a backbone for detectors)
};

class ResNet : public Backbone {
 public:
  ResNet(const ResNetOptions& opt, Generator& gen);
  Tensor forward(const Tensor& x) override;                // logits [N, num_classes] (needs include_top)
  std::vector<Tensor> features(const Tensor& x) override;  // {C2, C3, C4, C5}, strides 4, 8, 16, 32
  std::vector<int64_t> feature_channels() const override { return widths; }

  ResNetOptions opt;
  std::vector<int64_t> widths;  // channels of C2..C5
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<MaxPool2d> maxpool;
  std::shared_ptr<Sequential> layer1, layer2, layer3, layer4;
  std::shared_ptr<AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<Linear> fc;
};

std::shared_ptr<ResNet> resnet18(Generator& gen, int64_t num_classes = 1000, double width_mult = 1.0);
// The channels of C2..C5 at this width: max(1, round(base * width_mult)) for base 64, 128, 256, 512.
std::vector<int64_t> resnet_widths(double width_mult);
// Parameters of ResNet-18 without avgpool/fc, by formula (detectors' parameter counts build on it):
// stem 7x7x3 conv + BN, then per BasicBlock(in, p) 9 in p + 9 p^2 + 4 p (+ in p + 2 p with a downsample).
int64_t resnet18_backbone_parameters(double width_mult);
std::shared_ptr<ResNet> resnet34(Generator& gen, int64_t num_classes = 1000, double width_mult = 1.0);

}  // namespace dg::nn
