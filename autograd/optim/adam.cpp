#include "autograd/optim/adam.h"

#include <algorithm>
#include <cmath>

#include "autograd/graph.h"

namespace dg::optim {

static std::vector<ParamGroup> one_group(const std::vector<Tensor>& params) {
  ParamGroup g;
  g.params = params;
  return {g};
}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled)
    : Optimizer(std::move(groups), options.lr, options.weight_decay), opt_(options), decoupled_(decoupled) {
  check(opt_.eps >= 0, name(), ": invalid eps ", opt_.eps);
  check(opt_.beta1 >= 0 && opt_.beta1 < 1, name(), ": invalid beta1 ", opt_.beta1, " (need 0 <= beta1 < 1)");
  check(opt_.beta2 >= 0 && opt_.beta2 < 1, name(), ": invalid beta2 ", opt_.beta2, " (need 0 <= beta2 < 1)");
}
Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options) : Adam(std::move(groups), options, false) {}
Adam::Adam(const std::vector<Tensor>& params, AdamOptions options) : Adam(one_group(params), options, false) {}
AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options) : Adam(std::move(groups), options, true) {}
AdamW::AdamW(const std::vector<Tensor>& params, AdamWOptions options) : Adam(one_group(params), options, true) {}

std::vector<std::string> Adam::buffer_names() const {
  if (opt_.amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}

namespace {
struct AdamStep {  // the per-step scalars, computed in double as Python floats are
  double lr, wd, step_size, bc2_sqrt;
};

// One parameter of n elements. The expression order is PyTorch's (_single_tensor_adam / _adamw):
// exp_avg.mul_(b1).add_(g, alpha=1-b1); exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2);
// denom = (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps); param.addcdiv_(exp_avg, denom, value=-step_size).
template <class T>
void adam_update(T* p, const T* grad, T* m, T* v, T* vmax, int64_t n, const AdamOptions& o, const AdamStep& s,
                 bool decoupled) {
  const T b1 = (T)o.beta1, b2 = (T)o.beta2, c1 = (T)(1.0 - o.beta1), c2 = (T)(1.0 - o.beta2);
  const T wd = (T)s.wd, shrink = (T)(1.0 - s.lr * s.wd), bc2 = (T)s.bc2_sqrt, eps = (T)o.eps;
  const T neg_step = (T)(-s.step_size), sign = o.maximize ? (T)-1 : (T)1;
#pragma omp parallel for schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) {
    T g = sign * grad[i];
    if (s.wd != 0) {
      if (decoupled) p[i] = p[i] * shrink;
      else g = g + wd * p[i];
    }
    m[i] = m[i] * b1 + c1 * g;
    v[i] = v[i] * b2 + c2 * (g * g);
    T second = v[i];
    if (vmax) {
      vmax[i] = std::max(vmax[i], v[i]);
      second = vmax[i];
    }
    const T denom = std::sqrt(second) / bc2 + eps;
    p[i] = p[i] + neg_step * (m[i] / denom);
  }
}
}  // namespace

void Adam::step() {
  NoGradGuard no_grad;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& pg = groups_[g];
    for (size_t i = 0; i < pg.params.size(); ++i) {
      Tensor p = pg.params[i];
      if (!usable(p, g, i)) continue;
      ParamState& st = state_[g][i];
      if (st.step == 0)
        for (const auto& b : buffer_names()) st.buffers[b] = zeros(p.shape(), p.dtype());
      ++st.step;
      // Bias corrections as Python floats: 1 - beta^step, step_size = lr / bc1.
      const double t = (double)st.step;
      const double bc1 = 1.0 - std::pow(opt_.beta1, t), bc2 = 1.0 - std::pow(opt_.beta2, t);
      const AdamStep s{pg.lr, pg.weight_decay, pg.lr / bc1, std::sqrt(bc2)};
      Tensor &m = st.buffers["exp_avg"], &v = st.buffers["exp_avg_sq"];
      const bool ams = opt_.amsgrad;
      if (p.dtype() == DType::f64)
        adam_update<double>(p.data<double>(), p.grad().data<double>(), m.data<double>(), v.data<double>(),
                            ams ? st.buffers["max_exp_avg_sq"].data<double>() : nullptr, p.numel(), opt_, s,
                            decoupled_);
      else
        adam_update<float>(p.data<float>(), p.grad().data<float>(), m.data<float>(), v.data<float>(),
                           ams ? st.buffers["max_exp_avg_sq"].data<float>() : nullptr, p.numel(), opt_, s, decoupled_);
    }
  }
}

}  // namespace dg::optim
