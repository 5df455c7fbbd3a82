// Pooling, resampling and dropout modules (no parameters) over autograd/ops/pool.h,
// interpolate.h and dropout.h.
//   MaxPool2d(k, s, p)          max over k x k windows (padding counts as -inf)
//   AvgPool2d(k, s, p)          mean over windows (count_include_pad as PyTorch's default: true)
//   AdaptiveAvgPool2d(oh, ow)   average onto a fixed output grid (1x1: global average pooling)
//   Upsample(size | scale, mode) F.interpolate (nearest by default)
//   Dropout(p)                  inverted dropout in train(); identity in eval()
#pragma once
#include "autograd/generator.h"
#include "autograd/ops/interpolate.h"
#include "autograd/ops/pool.h"
#include "layers/module.h"

namespace dg::nn {

class MaxPool2d : public Module {
 public:
  MaxPool2d(Size2 kernel_size, Size2 stride = {}, Size2 padding = {0}, bool ceil_mode = false);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Size2 kernel_size, stride, padding;
  bool ceil_mode;
};

class AvgPool2d : public Module {
 public:
  AvgPool2d(Size2 kernel_size, Size2 stride = {}, Size2 padding = {0}, bool ceil_mode = false,
            bool count_include_pad = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Size2 kernel_size, stride, padding;
  bool ceil_mode, count_include_pad;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Size2 output_size;
};

class Upsample : public Module {
 public:
  explicit Upsample(InterpolateOptions opt);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  InterpolateOptions opt;
};

class Dropout : public Module {
 public:
  // The mask stream comes from a Generator seeded with `seed` (advanced at every training forward).
  explicit Dropout(double p = 0.5, uint64_t seed = 0);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double p;
  Generator gen;
};

}  // namespace dg::nn
