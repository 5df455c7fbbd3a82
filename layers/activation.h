// Activation modules: parameter-free wrappers of autograd/ops/activation.h, so activations can sit in
// a Sequential and keep PyTorch's child numbering (torchvision's "branch2.2" is a ReLU).
#pragma once
#include "layers/module.h"

namespace dg::nn {

class ReLU : public Module {  // max(x, 0)
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override;
};

class LeakyReLU : public Module {  // x > 0 ? x : slope * x
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : Module("LeakyReLU"), negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double negative_slope;
};

class SiLU : public Module {  // x * sigmoid(x)
 public:
  SiLU() : Module("SiLU") {}
  Tensor forward(const Tensor& x) override;
};

class Sigmoid : public Module {  // 1 / (1 + e^-x)
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) override;
};

class Identity : public Module {  // x (a placeholder that keeps numbering)
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& x) override { return x; }
};

}  // namespace dg::nn
