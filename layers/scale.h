// Scale: y = s * x with one learnable scalar s (shape [], init 1), as FCOS uses per pyramid level
// to let the shared box head adapt to each stride (mmdet's Scale: state_dict key "scale").
#pragma once
#include "layers/module.h"

namespace dg::nn {

class Scale : public Module {
 public:
  explicit Scale(double init_value = 1.0);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Tensor scale;
};

}  // namespace dg::nn
