// Convolution layers (torch.nn.Conv2d, torch.nn.ConvTranspose2d) over autograd/ops/conv.h.
//
//   Conv2d           x [N, in, H, W] -> [N, out, Ho, Wo]    weight [out, in/groups, kh, kw], bias [out]
//   ConvTranspose2d  x [N, in, H, W] -> [N, out, Ho, Wo]    weight [in, out/groups, kh, kw], bias [out]
//   Parameters: out * in/groups * kh * kw (+ out with bias).
//   Init (PyTorch's default): weight kaiming_uniform_(a = sqrt(5)) = U(+-1/sqrt(fan_in)), bias the same
//   bound; fan_in = weight.size(1) * kh * kw (layers/init.h).
#pragma once
#include "autograd/generator.h"
#include "autograd/ops/conv.h"
#include "layers/module.h"

namespace dg::nn {

struct Conv2dOptions {
  Hw stride = 1, padding = 0, dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Hw kernel_size, Generator& gen, Conv2dOptions opt = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  // Every output element is a dot product of (C_in / groups) * kh * kw terms.
  int64_t multiply_adds(const Tensor& output) const override;

  int64_t in_channels, out_channels;
  Hw kernel_size;
  Conv2dOptions opt;
  Tensor weight, bias;  // bias undefined when opt.bias is false
};

struct ConvTranspose2dOptions {
  Hw stride = 1, padding = 0, output_padding = 0, dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Hw kernel_size, Generator& gen,
                  ConvTranspose2dOptions opt = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  // Every input element meets (C_out / groups) * kh * kw weights: N * C_in * H_in * W_in * C_out/g * kh * kw.
  int64_t multiply_adds(const Tensor& output) const override;

  int64_t in_channels, out_channels;
  Hw kernel_size;
  ConvTranspose2dOptions opt;
  Tensor weight, bias;
};

}  // namespace dg::nn
