#include "autograd/optim/clip.h"

#include <cmath>
#include <limits>

namespace dg::optim {

// Sequential f64 accumulation: the same bits for any thread count.
template <class T>
static void accumulate(const T* g, int64_t n, bool inf_norm, double& acc) {
  for (int64_t i = 0; i < n; ++i) {
    const double a = std::fabs((double)g[i]);
    if (inf_norm) acc = (a > acc || std::isnan(a)) ? a : acc;
    else acc += a * a;
  }
}

double grad_norm(const std::vector<Tensor>& params, double norm_type) {
  const bool inf_norm = std::isinf(norm_type);
  check(inf_norm || norm_type == 2.0, "clip_grad_norm: norm_type must be 2 or inf, got ", norm_type);
  double acc = 0.0;
  for (const Tensor& p : params) {
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (g.dtype() == DType::f32) accumulate(g.data<float>(), g.numel(), inf_norm, acc);
    else if (g.dtype() == DType::f64) accumulate(g.data<double>(), g.numel(), inf_norm, acc);
    else
      fail("clip_grad_norm: gradient of dtype ", dtype_name(g.dtype()), " ", shape_str(g.shape()),
           " (f32 or f64 expected)");
  }
  return inf_norm ? acc : std::sqrt(acc);
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  const double total = grad_norm(params, norm_type);
  check(!(error_if_nonfinite && !std::isfinite(total)), "clip_grad_norm: the total norm of the gradients is ", total,
        " (non-finite)");
  const double coef = max_norm / (total + 1e-6);
  if (!(coef < 1.0) && !std::isnan(coef)) return total;  // PyTorch multiplies by min(coef, 1): a no-op
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    const int64_t n = g.numel();
    if (g.dtype() == DType::f32) {
      float* d = g.data<float>();
      const float c = (float)coef;
      for (int64_t i = 0; i < n; ++i) d[i] *= c;
    } else {
      double* d = g.data<double>();
      for (int64_t i = 0; i < n; ++i) d[i] *= coef;
    }
  }
  return total;
}

}  // namespace dg::optim
