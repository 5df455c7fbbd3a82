// Linear: y = x W^T + b (torch.nn.Linear).
//   x [..., in_features] -> y [..., out_features]; weight [out, in], bias [out].
//   Parameters: out*in (+ out with bias). Init: PyTorch's default (layers/init.h).
#pragma once
#include "autograd/generator.h"
#include "layers/module.h"

namespace dg::nn {

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias = true);
  Tensor forward(const Tensor& x) override;
  // Every output element is a dot product of in_features terms.
  int64_t multiply_adds(const Tensor& output) const override { return output.numel() * in_features; }
  std::string extra_repr() const override;

  int64_t in_features, out_features;
  Tensor weight, bias;  // bias undefined when constructed without
};

}  // namespace dg::nn
