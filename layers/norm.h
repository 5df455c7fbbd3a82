// Normalisation layers over autograd/ops/norm.h (torch.nn.BatchNorm2d, GroupNorm, LayerNorm).
//
//   BatchNorm2d(C)   x [N, C, H, W]; parameters weight, bias [C] (2C); buffers running_mean [C] (0),
//                    running_var [C] (1), num_batches_tracked [] i64 (0) -- torchvision's keys.
//     train(): normalise with the batch's mean and biased variance; update in place
//              running = (1 - momentum) running + momentum * batch stat (unbiased variance), and
//              num_batches_tracked += 1.
//     eval():  y = (x - running_mean) / sqrt(running_var + eps) * weight + bias.
//   GroupNorm(G, C)  x [N, C, *]: statistics per sample and group of C/G channels; weight, bias [C].
//   LayerNorm(shape) statistics over the trailing dims equal to shape; weight, bias of that shape.
// Affine parameters start at weight 1, bias 0 (PyTorch's init).
#pragma once
#include "layers/module.h"

namespace dg::nn {

struct BatchNormOptions {
  double eps = 1e-5, momentum = 0.1;
  bool affine = true;
  bool track_running_stats = true;  // false: batch statistics in eval too, no buffers
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t num_features, BatchNormOptions opt = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  int64_t num_features;
  BatchNormOptions opt;
  Tensor weight, bias;                                    // undefined without affine
  Tensor running_mean, running_var, num_batches_tracked;  // undefined without track_running_stats
};

class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  int64_t num_groups, num_channels;
  double eps;
  Tensor weight, bias;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  Shape normalized_shape;
  double eps;
  Tensor weight, bias;
};

}  // namespace dg::nn
