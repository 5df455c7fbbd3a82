// Depthwise-separable convolution block (MobileNet v1, Howard et al. 2017):
//
//   x [N, in, H, W]
//   depthwise 3x3/stride pad 1, groups = in (no bias) -> bn1 -> ReLU     [N, in, H/s, W/s]
//   pointwise 1x1 (in -> out, no bias)              -> bn2 -> ReLU     [N, out, H/s, W/s]
//
// Parameters: 9 in + 2 in + in*out + 2 out (a full 3x3 conv would need 9 in*out).
// Keys: depthwise.weight, bn1.*, pointwise.weight, bn2.*.
#pragma once
#include "autograd/generator.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/norm.h"

namespace dg::nn {

class DepthwiseSeparable : public Module {
 public:
  DepthwiseSeparable(int64_t in, int64_t out, Generator& gen, int64_t stride = 1, int64_t kernel = 3);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Conv2d> depthwise, pointwise;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<ReLU> relu;
};

}  // namespace dg::nn
