// Inception v1 block (Szegedy et al. 2015, "Going deeper with convolutions"), with torchvision's
// GoogLeNet naming (BasicConv2d = conv without bias -> BatchNorm(eps 0.001) -> ReLU) but a REAL 5x5
// in the third branch (torchvision uses 3x3 there, a known deviation from the paper).
//
//                          x [N, in, H, W]
//        +---------------+--------+--------+------------------+
//     branch1         branch2          branch3             branch4
//     1x1 (c1)     1x1 (c3r)        1x1 (c5r)        maxpool 3x3/1 pad 1
//                  3x3 (c3) pad 1   5x5 (c5) pad 2   1x1 (pool_proj)
//        +---------------+--------+--------+------------------+
//               concat on channels -> [N, c1 + c3 + c5 + pool_proj, H, W]
//
// Parameters: every BasicConv2d(i, o, k) has i*o*k*k + 2o:
//   in*c1 + in*c3r + 9 c3r*c3 + in*c5r + 25 c5r*c5 + in*pp + 2 (c1 + c3r + c3 + c5r + c5 + pp).
//   inception(3a) = (192; 64, 96, 128, 16, 32, 32): 12288+18432+110592+3072+12800+6144+2*368 = 164,064.
// Keys: branch1.conv.weight, branch1.bn.*, branch2.0.conv.weight, ..., branch4.1.bn.* .
#pragma once
#include "autograd/generator.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/sequential.h"

namespace dg::nn {

// conv (no bias) -> BatchNorm2d(eps = 0.001) -> ReLU, torchvision's GoogLeNet unit ("conv", "bn").
class BasicConv2d : public Module {
 public:
  BasicConv2d(int64_t in, int64_t out, int64_t kernel, Generator& gen, int64_t stride = 1, int64_t padding = 0);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> bn;
};

struct InceptionChannels {
  int64_t c1, c3_reduce, c3, c5_reduce, c5, pool_proj;
};

class Inception : public Module {
 public:
  Inception(int64_t in, const InceptionChannels& ch, Generator& gen);
  Tensor forward(const Tensor& x) override;  // [N, in, H, W] -> [N, c1 + c3 + c5 + pool_proj, H, W]
  int64_t in_channels, out_channels;
  std::shared_ptr<BasicConv2d> branch1;
  std::shared_ptr<Sequential> branch2, branch3, branch4;
};

}  // namespace dg::nn
