// Initialisers: draw fresh values, then copy them into the existing storage (the tensor stays the
// same registered parameter, see NOTE [ Parameters are updated in place ] in module.h).
#include "layers/init.h"

#include <cmath>
#include <cstring>

namespace dg::nn::init {

namespace {
int64_t receptive(const Tensor& w) {
  int64_t r = 1;
  for (int64_t d = 2; d < w.dim(); ++d) r *= w.size(d);
  return r;
}

void assign(Tensor& t, const Tensor& values) {
  Tensor v = values.to(t.dtype());
  if (t.nbytes()) std::memcpy(t.impl()->storage->data, v.raw(), t.nbytes());
}
}  // namespace

int64_t fan_in(const Tensor& w) {
  check(w.dim() >= 2, "init: fan_in needs a weight with >= 2 dims, got ", shape_text(w.shape()));
  return w.size(1) * receptive(w);
}

int64_t fan_out(const Tensor& w) {
  check(w.dim() >= 2, "init: fan_out needs a weight with >= 2 dims, got ", shape_text(w.shape()));
  return w.size(0) * receptive(w);
}

void constant_(Tensor& t, double value) { assign(t, full(t.shape(), value, DType::f64)); }

void uniform_(Tensor& t, double lo, double hi, Generator& gen) {
  assign(t, uniform(t.shape(), lo, hi, gen, DType::f64));
}

void normal_(Tensor& t, double mean, double std, Generator& gen) {
  assign(t, normal(t.shape(), mean, std, gen, DType::f64));
}

void kaiming_uniform_(Tensor& t, double a, Generator& gen) {
  const double bound = std::sqrt(6.0 / ((1.0 + a * a) * (double)fan_in(t)));
  uniform_(t, -bound, bound, gen);
}

void kaiming_normal_fan_out_(Tensor& t, Generator& gen) {
  normal_(t, 0.0, std::sqrt(2.0) / std::sqrt((double)fan_out(t)), gen);
}

}  // namespace dg::nn::init
