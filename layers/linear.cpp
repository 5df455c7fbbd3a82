// Linear: one GEMM (matmul with a transposed copy of W: bmm_t's transpose flag records no gradient),
// then the bias broadcast over rows.
#include "layers/linear.h"

#include <cmath>

#include "autograd/ops.h"
#include "layers/init.h"

namespace dg::nn {

Linear::Linear(int64_t in, int64_t out, Generator& gen, bool with_bias)
    : Module("Linear"), in_features(in), out_features(out) {
  check(in > 0 && out > 0, "Linear: features must be positive, got in=", in, " out=", out);
  weight = register_parameter("weight", Tensor::empty({out, in}));
  init::kaiming_uniform_(weight, std::sqrt(5.0), gen);
  if (with_bias) {
    bias = register_parameter("bias", Tensor::empty({out}));
    const double b = 1.0 / std::sqrt((double)in);
    init::uniform_(bias, -b, b, gen);
  }
}

Tensor Linear::forward(const Tensor& x) {
  check(x.dim() >= 1 && x.size(-1) == in_features, "Linear: expected input [..., ", in_features, "], got ",
        shape_text(x.shape()));
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  Tensor x2 = reshape(x, {-1, in_features});       // [M, in]
  Tensor y = matmul(x2, transpose(weight, 0, 1));  // [M, in] @ [in, out] = [M, out]
  if (bias.defined()) y = add(y, bias);
  return reshape(y, out_shape);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         (bias.defined() ? "" : ", bias=False");
}

}  // namespace dg::nn
