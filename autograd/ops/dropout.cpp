// Dropout. Shape legend: x [any] -> out [same]; the mask is drawn sequentially (element order) from
// the generator, which keeps it independent of the thread count.
#include "autograd/ops/dropout.h"

#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"

namespace dg {
using namespace ops_detail;

// out = x * m,  m_i = [u_i >= p] / (1 - p)
// dx = g * m
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  require_floating("dropout", x);
  check(p >= 0 && p <= 1, "dropout: probability p must be between 0 and 1, got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return mul(x, zeros({}, x.dtype()));  // every element dropped; gradient 0
  const DType ct = compute_dtype(x.dtype());
  Tensor m = Tensor::empty(x.shape(), ct);
  const double scale = 1.0 / (1.0 - p);
  DG_DISPATCH_FLOAT(ct, "dropout", T, {
    T* pm = m.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) pm[i] = gen.uniform01() >= p ? (T)scale : T(0);
  });
  return mul(x, is_half(x.dtype()) ? m.to(x.dtype()) : m);  // mul records the node: dx = g * m
}

Tensor dropout(const Tensor& x, double p, bool training, uint64_t seed) {
  Generator gen(seed);
  return dropout(x, p, training, gen);
}

}  // namespace dg
