// Feature Pyramid Network (Lin et al. 2017) with torchvision's names, plus the P6/P7 extra levels of
// RetinaNet / FCOS.
//
//   C3 ---- 1x1 lateral (inner_blocks.0) --(+)--> 3x3 (layer_blocks.0) --> P3
//                                           ^ nearest upsample to C3's size
//   C4 ---- 1x1 lateral (inner_blocks.1) --(+)--> 3x3 (layer_blocks.1) --> P4
//                                           ^ nearest upsample to C4's size
//   C5 ---- 1x1 lateral (inner_blocks.2) -------> 3x3 (layer_blocks.2) --> P5
//   P6 = 3x3/2 conv (extra_blocks.p6) of P5;  P7 = 3x3/2 conv (extra_blocks.p7) of ReLU(P6)
//
// Inputs: features of consecutive levels, finest first (e.g. C3, C4, C5, strides 8, 16, 32), with
// in_channels[i] channels. Every output has out_channels. P6/P7 are taken from P5 (FCOS, and
// torchvision's RetinaNet where in == out channels), not from C5.
// Parameters: sum_i (in_i * out + out) + L * (9 out^2 + out) (+ 2 (9 out^2 + out) with P6/P7).
// Init as torchvision: kaiming_uniform_(a = 1) weights, zero biases.
// Keys: inner_blocks.i.0.{weight,bias}, layer_blocks.i.0.{weight,bias}, extra_blocks.p6/p7.{weight,bias}.
#pragma once
#include <vector>

#include "autograd/generator.h"
#include "layers/conv.h"
#include "layers/sequential.h"

namespace dg::nn {

struct FPNOptions {
  bool p6p7 = false;                // add P6 and P7 (RetinaNet / FCOS)
  int64_t first_level = 3;          // the level of the first input (C3 -> P3): names levels for out_levels
  std::vector<int64_t> out_levels;  // which P levels to return, ascending; empty = all
};

class FPN : public Module {
 public:
  FPN(std::vector<int64_t> in_channels, int64_t out_channels, Generator& gen, FPNOptions opt = {});
  // features finest first -> the chosen P levels, finest first.
  std::vector<Tensor> forward_features(const std::vector<Tensor>& features);
  std::vector<int64_t> levels() const;  // the P levels forward_features returns, e.g. {3,4,5,6,7}

  std::vector<int64_t> in_channels;
  int64_t out_channels;
  FPNOptions opt;
  std::shared_ptr<ModuleList> inner_blocks, layer_blocks;
  std::shared_ptr<Module> extra_blocks;  // null without P6/P7
  std::shared_ptr<Conv2d> p6, p7;
};

}  // namespace dg::nn
