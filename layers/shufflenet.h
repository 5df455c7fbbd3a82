// ShuffleNetV2 (Ma et al. 2018) with torchvision's structure and state_dict names, and ThunderNet's
// SNet (Qin et al. 2019: the same network with 5x5 depthwise convolutions).
//
// ShuffleNetUnit (torchvision's InvertedResidual), every conv without bias, c = out / 2:
//   stride 1 (in == out):                         stride 2 (both branches see all of x):
//     x -> split channels in half                   branch1: dw kxk/2 (in) -> BN -> 1x1 (in->c) -> BN -> ReLU
//     x1 --------------------------+                branch2: 1x1 (in->c) -> BN -> ReLU -> dw kxk/2 (c) -> BN
//     x2 -> branch2 ---------------+                         -> 1x1 (c->c) -> BN -> ReLU
//       branch2: 1x1 -> BN -> ReLU -> dw kxk -> BN -> 1x1 -> BN -> ReLU   (c channels throughout)
//     concat(x1, branch2(x2))                       concat(branch1(x), branch2(x))
//     channel_shuffle(groups = 2)                   channel_shuffle(groups = 2)
//   k = 3 (ShuffleNetV2) or 5 (SNet). Keys: branch1.{0..4}, branch2.{0..7} (ReLUs keep their index).
//
// ShuffleNetV2(repeats, widths):
//   conv1 (3x3/2 conv -> BN -> ReLU, widths[0]) -> maxpool 3x3/2       -> C2, stride 4
//   stage2: repeats[0] units (first stride 2)  -> C3, stride 8,  widths[1]
//   stage3: repeats[1] units                   -> C4, stride 16, widths[2]
//   stage4: repeats[2] units                   -> C5, stride 32, widths[3]
//   conv5 (1x1 -> BN -> ReLU, widths[4]; omitted when widths has 4 entries) -> global mean -> fc
//   x0.5: repeats 4,8,4, widths 24,48,96,192,1024 (1,366,792 parameters)
//   x1.0: repeats 4,8,4, widths 24,116,232,464,1024 (2,278,604 parameters)
//   SNet49: 5x5 dw, widths 24,60,120,240,512; SNet146: 24,132,264,528 (no conv5); SNet535: 48,248,496,992.
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

class ShuffleNetUnit : public Module {
 public:
  ShuffleNetUnit(int64_t in, int64_t out, int64_t stride, Generator& gen, int64_t dw_kernel = 3);
  Tensor forward(const Tensor& x) override;

  int64_t in_channels, out_channels, stride;
  std::shared_ptr<Sequential> branch1, branch2;  // branch1 is empty for stride 1
};

struct ShuffleNetV2Options {
  std::vector<int64_t> repeats{4, 8, 4};
  std::vector<int64_t> widths{24, 116, 232, 464, 1024};  // 5 entries (with conv5) or 4 (without)
  int64_t dw_kernel = 3;
  int64_t num_classes = 1000;
  bool include_top = true;  // false: no fc (conv5 is kept when widths has 5 entries)
};

class ShuffleNetV2 : public Backbone {
 public:
  ShuffleNetV2(const ShuffleNetV2Options& opt, Generator& gen);
  Tensor forward(const Tensor& x) override;  // logits [N, num_classes]
  // {C2 (after maxpool), C3, C4, C5 (stage outputs)}, strides 4, 8, 16, 32. conv5 is not applied.
  std::vector<Tensor> features(const Tensor& x) override;
  std::vector<int64_t> feature_channels() const override;

  ShuffleNetV2Options opt;
  std::shared_ptr<Sequential> conv1, stage2, stage3, stage4, conv5;  // conv5 null without it
  std::shared_ptr<MaxPool2d> maxpool;
  std::shared_ptr<Linear> fc;
};

std::shared_ptr<ShuffleNetV2> shufflenet_v2_x0_5(Generator& gen, int64_t num_classes = 1000);
std::shared_ptr<ShuffleNetV2> shufflenet_v2_x1_0(Generator& gen, int64_t num_classes = 1000);
// ThunderNet's backbone: size 49, 146 or 535.
std::shared_ptr<ShuffleNetV2> snet(int size, Generator& gen, int64_t num_classes = 1000);

}  // namespace dg::nn
