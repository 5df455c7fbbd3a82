#include "layers/scale.h"

#include "autograd/autocast.h"
#include "autograd/ops/elementwise.h"

namespace dg::nn {

Scale::Scale(double init_value) : Module("Scale") { scale = register_parameter("scale", scalar_tensor(init_value)); }

// y = s x;  ds = sum(g * x), dx = s g (mul broadcasts the 0-d s and sums its gradient back).
// Inside an autocast scope a half input meets the f32 scale and mul promotes (the product is f32, as
// PyTorch's half tensor times an f32 parameter); outside one the dtypes must agree.
Tensor Scale::forward(const Tensor& x) {
  check(x.dtype() == scale.dtype() || amp::autocast_enabled(), "Scale: input dtype ", dtype_name(x.dtype()),
        " differs from the scale's ", dtype_name(scale.dtype()), " (convert the module with to())");
  return mul(x, scale);
}

std::string Scale::extra_repr() const { return "init=" + std::to_string(scale.item()); }

}  // namespace dg::nn
