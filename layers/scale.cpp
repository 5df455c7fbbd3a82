#include "layers/scale.h"

#include "autograd/ops/elementwise.h"

namespace dg::nn {

Scale::Scale(double init_value) : Module("Scale") {
  scale = register_parameter("scale", scalar_tensor(init_value));
}

// y = s x;  ds = sum(g * x), dx = s g (mul broadcasts the 0-d s and sums its gradient back).
Tensor Scale::forward(const Tensor& x) {
  check(x.dtype() == scale.dtype(), "Scale: input dtype ", dtype_name(x.dtype()), " differs from the scale's ",
        dtype_name(scale.dtype()), " (convert the module with to())");
  return mul(x, scale);
}

std::string Scale::extra_repr() const { return "init=" + std::to_string(scale.item()); }

}  // namespace dg::nn
