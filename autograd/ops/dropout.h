// Dropout (Srivastava et al. 2014, "inverted" form as PyTorch): in training each element is kept with
// probability 1 - p and scaled by 1 / (1 - p), so the expected output equals the input; in evaluation
// (or p = 0) the input passes through unchanged. The mask comes from a dg::Generator, so a seed gives
// the same mask on every machine and thread count; it cannot match PyTorch's own random stream.
#pragma once
#include <cstdint>

#include "autograd/generator.h"
#include "autograd/tensor.h"

namespace dg {

// out = x * mask / (1 - p), mask_i = [u_i >= p], u_i ~ U[0,1) drawn from gen in element order.
// p = 1 gives zeros (and a zero gradient); !training or p = 0 returns x itself. 0 <= p <= 1.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);
Tensor dropout(const Tensor& x, double p, bool training, uint64_t seed);  // a fresh Generator(seed)

}  // namespace dg
