// Parameter initialisation, in place, from a dg::Generator (like torch.nn.init).
//
// The defaults of PyTorch's layers, which the layers here reproduce:
//   Conv2d / ConvTranspose2d / Linear weight: kaiming_uniform_(a = sqrt(5))
//       gain = sqrt(2 / (1 + a^2)) = sqrt(1/3), bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in)
//       => W ~ U(-1/sqrt(fan_in), +1/sqrt(fan_in))
//   their bias: U(-1/sqrt(fan_in), +1/sqrt(fan_in))
//   BatchNorm / GroupNorm / LayerNorm: weight 1, bias 0
// fan_in = weight.size(1) * kh * kw (for ConvTranspose2d, whose weight is [in, out/groups, kh, kw],
// that is out/groups * kh * kw -- PyTorch computes it the same way).
// The values are drawn in the tensor's memory order, so a seed fixes them on every machine; they
// are NOT PyTorch's numbers (its generator is a different one).
#pragma once
#include <cstdint>

#include "autograd/generator.h"
#include "autograd/tensor.h"

namespace dg::nn::init {

int64_t fan_in(const Tensor& weight);   // size(1) * prod(size(2:)); size(1) for a 2-D weight
int64_t fan_out(const Tensor& weight);  // size(0) * prod(size(2:))

void constant_(Tensor& t, double value);
void uniform_(Tensor& t, double lo, double hi, Generator& gen);
void normal_(Tensor& t, double mean, double std, Generator& gen);
// U(-b, b) with b = sqrt(6 / ((1 + a^2) fan_in)); a = sqrt(5) gives PyTorch's layer default.
void kaiming_uniform_(Tensor& t, double a, Generator& gen);
// N(0, std^2) with std = sqrt(2) / sqrt(fan_out): torchvision ResNet's conv init
// (kaiming_normal_(mode="fan_out", nonlinearity="relu")).
void kaiming_normal_fan_out_(Tensor& t, Generator& gen);

}  // namespace dg::nn::init
