#include "autograd/ops/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/generator.h"
#include "autograd/graph.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"

namespace dg {

namespace {
// L = sum_k sum(out_k * u_k) in double.
double weighted_sum(const std::vector<Tensor>& outs, const std::vector<Tensor>& us) {
  double s = 0;
  for (size_t k = 0; k < outs.size(); ++k) {
    if (!us[k].defined()) continue;
    const double* o = outs[k].data<double>();
    const double* u = us[k].data<double>();
    for (int64_t i = 0; i < outs[k].numel(); ++i) s += o[i] * u[i];
  }
  return s;
}

// Fresh leaves so the check never mixes with gradients the caller already accumulated.
std::vector<Tensor> fresh_leaves(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> xs;
  for (const Tensor& t : inputs) {
    if (!t.defined()) {
      xs.push_back(t);
      continue;
    }
    Tensor c = t.contiguous_copy_no_grad();
    if (t.requires_grad()) c.set_requires_grad(true);
    xs.push_back(c);
  }
  return xs;
}

// One upstream gradient per f64 output that requires grad (undefined for the others): non-uniform,
// in [0.5, 1.5) with random signs, so transposed or summed gradients cannot pass.
std::vector<Tensor> random_upstream(const std::vector<Tensor>& outs, uint64_t seed) {
  Generator gen(seed);
  std::vector<Tensor> us;
  for (const Tensor& o : outs) {
    if (o.dtype() != DType::f64 || !o.requires_grad()) {
      us.push_back(Tensor());
      continue;
    }
    Tensor u = Tensor::empty(o.shape(), DType::f64);
    for (int64_t i = 0; i < o.numel(); ++i) {
      double v = 0.5 + gen.uniform01();
      u.data<double>()[i] = gen.uniform01() < 0.5 ? -v : v;
    }
    us.push_back(u);
  }
  return us;
}
}  // namespace

GradcheckResult gradcheck(const GradFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
  GradcheckResult res;
  for (const Tensor& t : inputs)
    check(!t.defined() || !t.requires_grad() || t.dtype() == DType::f64,
          "gradcheck: inputs that require grad must be f64, got ", dtype_name(t.dtype()));
  std::vector<Tensor> xs = fresh_leaves(inputs);
  std::vector<Tensor> outs = f(xs);
  const std::vector<Tensor> us = random_upstream(outs, opt.seed);
  if (std::none_of(us.begin(), us.end(), [](const Tensor& u) { return u.defined(); })) {
    res.ok = false;
    res.message = "gradcheck: no output requires grad";
    return res;
  }
  {
    Tensor L;
    for (size_t k = 0; k < outs.size(); ++k) {
      if (!us[k].defined()) continue;
      Tensor term = sum(mul(outs[k], us[k]));
      L = L.defined() ? add(L, term) : term;
    }
    L.backward();
  }
  std::ostringstream msg;
  for (size_t i = 0; i < xs.size(); ++i) {
    Tensor& x = xs[i];
    if (!x.defined() || !x.requires_grad()) continue;
    Tensor ga = x.grad();
    double* px = x.data<double>();
    bool analytic_zero = true, numeric_zero = true;
    for (int64_t j = 0; j < x.numel(); ++j) {
      const double orig = px[j];
      double lp, lm;
      {
        NoGradGuard ng;
        px[j] = orig + opt.eps;
        lp = weighted_sum(f(xs), us);
        px[j] = orig - opt.eps;
        lm = weighted_sum(f(xs), us);
        px[j] = orig;
      }
      const double num = (lp - lm) / (2 * opt.eps);
      const double ana = ga.defined() ? ga.at(j) : 0.0;
      if (ana != 0) analytic_zero = false;
      if (std::abs(num) > 1e-8) numeric_zero = false;  // independent of atol: a flat backward must not pass
      const double err = std::abs(ana - num);
      if (!(err <= opt.atol + opt.rtol * std::abs(num))) {  // also catches NaN
        if (res.ok) msg << "input " << i << " element " << j << ": analytic " << ana << " vs numeric " << num;
        res.ok = false;
      }
      if (err > res.max_abs_err || std::isnan(err)) res.max_abs_err = err;
    }
    if (analytic_zero && !numeric_zero) {
      if (res.ok) msg << "input " << i << ": analytic gradient is identically zero but the numeric one is not";
      res.ok = false;
    }
  }
  res.message = msg.str();
  return res;
}

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opt) {
  return gradcheck(GradFn([&](const std::vector<Tensor>& xs) { return std::vector<Tensor>{f(xs)}; }), inputs, opt);
}

}  // namespace dg
