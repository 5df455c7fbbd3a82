// Activations, element-wise except softmax / log_softmax (over one dim). All differentiable.
#pragma once
#include "autograd/tensor.h"

namespace dg {

Tensor relu(const Tensor& x);                                      // max(x, 0)
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);  // x > 0 ? x : slope * x
Tensor sigmoid(const Tensor& x);                                   // 1 / (1 + e^-x)
Tensor tanh(const Tensor& x);
Tensor silu(const Tensor& x);  // x * sigmoid(x)
// log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (as F.softplus).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor softmax(const Tensor& x, int64_t dim);      // e^x / sum e^x over dim
Tensor log_softmax(const Tensor& x, int64_t dim);  // x - logsumexp(x) over dim

}  // namespace dg
