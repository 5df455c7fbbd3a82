// Matrix products. matmul follows torch.matmul: 1-D @ 1-D is a dot product, a 1-D operand is
// treated as a row (left) or column (right) vector and that dim removed afterwards, and leading batch
// dims broadcast ([2,1,3,4] @ [5,4,2] -> [2,5,3,2]).
#pragma once
#include "autograd/tensor.h"

namespace dg {

Tensor matmul(const Tensor& a, const Tensor& b);
// F.linear: x [..., in] @ w[out, in]^T + b [out] -> [..., out] (b may be undefined).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());
// a [..,M,K] (or [..,K,M] if trans_a) times b [..,K,N] (or [..,N,K] if trans_b), equal batch dims.
// The transposes are GEMM flags, never copies.
Tensor bmm_t(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b);

}  // namespace dg
