#include "autograd/optim/sgd.h"

#include "autograd/graph.h"

namespace dg::optim {

static std::vector<ParamGroup> one_group(const std::vector<Tensor>& params) {
  ParamGroup g;
  g.params = params;
  return {g};
}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer(std::move(groups), options.lr, options.weight_decay), opt_(options) {
  check(opt_.momentum >= 0, "SGD: invalid momentum ", opt_.momentum);
  check(!opt_.nesterov || (opt_.momentum > 0 && opt_.dampening == 0),
        "SGD: nesterov momentum requires momentum > 0 and zero dampening (got momentum ", opt_.momentum, ", dampening ",
        opt_.dampening, ")");
}

SGD::SGD(const std::vector<Tensor>& params, SGDOptions options) : SGD(one_group(params), options) {}

std::vector<std::string> SGD::buffer_names() const {
  if (opt_.momentum != 0) return {"momentum_buffer"};
  return {};
}

// One parameter of n elements; T is float or double. The expression order is PyTorch's, so f64
// results agree to rounding: d_p = grad.add(param, alpha=wd); buf.mul_(mu).add_(d_p, alpha=1-damp);
// d_p = d_p.add(buf, alpha=mu) (nesterov); param.add_(d_p, alpha=-lr).
template <class T>
static void sgd_update(T* p, const T* grad, T* buf, int64_t n, bool first, const SGDOptions& o, double lr, double wd) {
  const T mu = (T)o.momentum, keep = (T)(1.0 - o.dampening), wdT = (T)wd, neg_lr = (T)(-lr);
  const T sign = o.maximize ? (T)-1 : (T)1;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    T d = sign * grad[i];
    if (wd != 0) d = d + wdT * p[i];
    if (buf) {
      T b = first ? d : buf[i] * mu + keep * d;
      buf[i] = b;
      d = o.nesterov ? d + mu * b : b;
    }
    p[i] = p[i] + neg_lr * d;
  }
}

void SGD::step() {
  NoGradGuard no_grad;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& pg = groups_[g];
    for (size_t i = 0; i < pg.params.size(); ++i) {
      Tensor p = pg.params[i];
      if (!usable(p, g, i)) continue;
      ParamState& st = state_[g][i];
      const bool first = st.step == 0;
      Tensor buf;
      if (opt_.momentum != 0) {
        if (first) st.buffers["momentum_buffer"] = zeros(p.shape(), p.dtype());
        buf = st.buffers["momentum_buffer"];
      }
      const Tensor& grad = p.grad();
      if (p.dtype() == DType::f64)
        sgd_update<double>(p.data<double>(), grad.data<double>(), buf.defined() ? buf.data<double>() : nullptr,
                           p.numel(), first, opt_, pg.lr, pg.weight_decay);
      else
        sgd_update<float>(p.data<float>(), grad.data<float>(), buf.defined() ? buf.data<float>() : nullptr, p.numel(),
                          first, opt_, pg.lr, pg.weight_decay);
      ++st.step;
    }
  }
}

}  // namespace dg::optim
