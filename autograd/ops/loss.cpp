// Losses. Most are compositions of differentiable primitives, so they need no backward of their
// own; nll_loss and the kl_div pointwise term have hand-written backwards right below their forwards.
#include "autograd/ops/loss.h"

#include <cmath>
#include <limits>

#include "autograd/autocast.h"
#include "autograd/ops/activation.h"
#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/shape.h"

namespace dg {
using namespace ops_detail;

Reduction parse_reduction(const std::string& s) {
  if (s == "none") return Reduction::none;
  if (s == "mean") return Reduction::mean;
  if (s == "sum") return Reduction::sum;
  if (s == "batchmean") return Reduction::batchmean;
  fail("reduction must be none, mean, sum or batchmean, got '", s, "'");
}
const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::none: return "none";
    case Reduction::mean: return "mean";
    case Reduction::sum: return "sum";
    case Reduction::batchmean: return "batchmean";
  }
  return "?";
}

static Tensor reduce(const char* op, const Tensor& loss, Reduction r) {
  switch (r) {
    case Reduction::none: return loss;
    case Reduction::sum: return sum(loss);
    case Reduction::mean: return mean(loss);
    case Reduction::batchmean: fail(op, ": reduction 'batchmean' is only for kl_div");
  }
  return loss;
}

static void pair_check(const char* op, const Tensor& input, const Tensor& target) {
  require_floating(op, input, "input");
  require_floating(op, target, "target");
  require_same_dtype(op, input, target);
  broadcast_shapes(op, input.shape(), target.shape());
}

// (x - y)^2
// Autocast: every loss is an f32 op (NOTE [ Autocast hooks ] in autograd/autocast.h): inside a scope,
// f16/bf16 inputs, targets and weights are widened to f32 and the loss is computed and returned in f32.
using amp::autocast_f32;
using amp::autocast_widens;

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction r) {
  if (autocast_widens({input, target})) return mse_loss(autocast_f32(input), autocast_f32(target), r);
  pair_check("mse_loss", input, target);
  return reduce("mse_loss", pow(sub(input, target), 2.0), r);
}

// |x - y|
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r) {
  if (autocast_widens({input, target})) return l1_loss(autocast_f32(input), autocast_f32(target), r);
  pair_check("l1_loss", input, target);
  return reduce("l1_loss", abs(sub(input, target)), r);
}

// d = x - y:  0.5 d^2 / beta  if |d| < beta,  |d| - 0.5 beta  otherwise
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction r, double beta) {
  if (autocast_widens({input, target})) return smooth_l1_loss(autocast_f32(input), autocast_f32(target), r, beta);
  pair_check("smooth_l1_loss", input, target);
  check(beta >= 0, "smooth_l1_loss: beta must be non-negative, got ", beta);
  if (beta == 0) return l1_loss(input, target, r);
  Tensor d = sub(input, target);
  Tensor ad = abs(d);
  Tensor quad = mul(mul(d, d), 0.5 / beta);
  Tensor lin = sub(ad, 0.5 * beta);
  return reduce("smooth_l1_loss", where(lt(ad.detach(), beta), quad, lin), r);
}

// l = w [ (1 - y) x + (1 + (p - 1) y) softplus(-x) ]   (softplus(-x) = -log s(x), computed stably)
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction r) {
  const char* op = "binary_cross_entropy_with_logits";
  if (autocast_widens({input, target, weight, pos_weight}))
    return binary_cross_entropy_with_logits(autocast_f32(input), autocast_f32(target), autocast_f32(weight),
                                            autocast_f32(pos_weight), r);
  pair_check(op, input, target);
  check(input.shape() == target.shape(), op, ": target size ", shape_text(target.shape()),
        " must be the same as input size ", shape_text(input.shape()));
  const double inf = std::numeric_limits<double>::infinity();
  Tensor sp = softplus(neg(input), 1.0, inf);
  Tensor log_w = sp;
  if (pos_weight.defined()) {
    require_same_dtype(op, input, pos_weight);
    log_w = mul(add(mul(sub(pos_weight, 1.0), target), 1.0), sp);
  }
  Tensor loss = add(mul(sub(scalar_like(target, 1.0), target), input), log_w);
  if (weight.defined()) {
    require_same_dtype(op, input, weight);
    loss = mul(loss, weight);
  }
  return reduce(op, loss, r);
}

// ---- nll_loss ------------------------------------------------------------------------------------
// input viewed as [N, C, S], target as [N, S]:
// out[n, s] = -w[t] input[n, t, s] (0 where t == ignore_index);  mean = sum out / sum w[t]
// dinput[n, t, s] = -w[t] * g[n, s]   (g / sum w[t] for mean)
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index, Reduction r) {
  const char* op = "nll_loss";
  if (autocast_widens({input, weight}))
    return nll_loss(autocast_f32(input), target, autocast_f32(weight), ignore_index, r);
  if (is_half(input.dtype()))
    return nll_loss(input.to(DType::f32), target, weight.defined() ? weight.to(DType::f32) : weight, ignore_index, r)
        .to(input.dtype());
  require_floating(op, input);
  check(target.dtype() == DType::i64 || target.dtype() == DType::i32, op,
        ": target must hold class indices (i64 or i32), got ", dtype_name(target.dtype()));
  check(r != Reduction::batchmean, op, ": reduction 'batchmean' is only for kl_div");
  check(input.dim() >= 1, op, ": input must have at least one dimension (classes), got shape ",
        shape_text(input.shape()));
  Shape expect_t;
  if (input.dim() >= 2) {
    expect_t.push_back(input.shape()[0]);
    for (int64_t d = 2; d < input.dim(); ++d) expect_t.push_back(input.shape()[(size_t)d]);
  }
  check(target.shape() == expect_t, op, ": expected target of shape ", shape_text(expect_t), " for input of shape ",
        shape_text(input.shape()), ", got ", shape_text(target.shape()));
  const int64_t C = input.dim() >= 2 ? input.shape()[1] : input.shape()[0];
  const int64_t N = input.dim() >= 2 ? input.shape()[0] : 1;
  const int64_t S = input.dim() >= 2 ? input.numel() / std::max<int64_t>(1, N * C) : 1;
  if (weight.defined()) {
    require_same_dtype(op, input, weight);
    check(weight.shape() == Shape{C}, op, ": weight must have shape [", C, "], got ", shape_text(weight.shape()));
  }
  Tensor t64 = target.to(DType::i64);
  const int64_t* t = t64.data<int64_t>();
  for (int64_t i = 0; i < t64.numel(); ++i)
    check(t[i] == ignore_index || (t[i] >= 0 && t[i] < C), op, ": target ", t[i], " is out of bounds for ", C,
          " classes");
  Tensor w_item = Tensor::empty(target.shape(), input.dtype());  // w[t_i], 0 where ignored
  Tensor loss = Tensor::empty(target.shape(), input.dtype());
  DG_DISPATCH_FLOAT(input.dtype(), op, T, {
    const T* x = input.data<T>();
    const T* w = weight.defined() ? weight.data<T>() : nullptr;
    T* wi = w_item.data<T>();
    T* l = loss.data<T>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t k = n * S + s, c = t[k];
        if (c == ignore_index) { wi[k] = 0; l[k] = 0; continue; }
        wi[k] = w ? w[c] : T(1);
        l[k] = -wi[k] * x[(n * C + c) * S + s];
      }
  });
  Tensor out;
  double denom = 1.0;
  if (r == Reduction::none) {
    out = loss;
  } else {
    NoGradGuard ng;
    out = sum(loss);
    if (r == Reduction::mean) {
      denom = sum(w_item).item();  // 0 when every target is ignored: 0/0 = NaN, as PyTorch
      out = div(out, scalar_like(out, denom));
    }
  }
  Shape xs = input.shape();
  return record(op, out, {input}, [xs, t64, w_item, N, C, S, r, denom](const Tensor& g) {
    Tensor dx = zeros(xs, g.dtype());
    const int64_t* t = t64.data<int64_t>();
    DG_DISPATCH_FLOAT(g.dtype(), "nll_loss", T, {
      const T* pg = g.data<T>();
      const T* wi = w_item.data<T>();
      T* pd = dx.data<T>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) {
          const int64_t k = n * S + s;
          if (wi[k] == 0) continue;
          const T gk = r == Reduction::none ? pg[k] : (T)(pg[0] / denom);
          pd[(n * C + t[k]) * S + s] = -wi[k] * gk;
        }
    });
    return grads({dx});
  });
}

// ---- cross_entropy -------------------------------------------------------------------------------
// (1 - eps) nll(log_softmax(x), t) + eps/C * smooth,  smooth_i = -sum_c w_c log_softmax(x)_ic
Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index, Reduction r,
                     double eps) {
  const char* op = "cross_entropy";
  if (autocast_widens({input, target, weight}))
    return cross_entropy(autocast_f32(input), autocast_f32(target), autocast_f32(weight), ignore_index, r, eps);
  require_floating(op, input);
  check(eps >= 0 && eps <= 1, op, ": label_smoothing must be in [0, 1], got ", eps);
  check(input.dim() >= 1, op, ": input must have a class dimension, got shape ", shape_text(input.shape()));
  const int64_t cdim = input.dim() >= 2 ? 1 : 0;
  const int64_t C = input.shape()[(size_t)cdim];
  Tensor lsm = log_softmax(input, cdim);
  // Weight shaped to broadcast along the class dim: [C, 1, 1, ...].
  Tensor wb;
  if (weight.defined()) {
    require_same_dtype(op, input, weight);
    check(weight.shape() == Shape{C}, op, ": weight must have shape [", C, "], got ", shape_text(weight.shape()));
    Shape ws((size_t)(input.dim() - cdim), 1);
    ws[0] = C;
    wb = reshape(weight.detach(), ws);
  }
  if (is_floating(target.dtype())) {  // class probabilities
    check(target.shape() == input.shape(), op, ": probability target must have the input's shape ",
          shape_text(input.shape()), ", got ", shape_text(target.shape()));
    Tensor tt = eps > 0 ? add(mul(target, 1.0 - eps), eps / (double)C) : target;
    Tensor prod = mul(lsm, tt);
    if (wb.defined()) prod = mul(prod, wb);
    Tensor per = neg(sum(prod, {cdim}));
    return reduce(op, per, r);  // mean: over N x d1 x ..., as PyTorch (input.numel() / C)
  }
  Tensor nll = nll_loss(lsm, target, weight.defined() ? weight.detach() : weight, ignore_index, r);
  if (eps == 0) return nll;
  Tensor prod = wb.defined() ? mul(lsm, wb) : lsm;
  Tensor smooth = neg(sum(prod, {cdim}));  // shape of target
  Tensor t64 = target.to(DType::i64);
  Tensor keep = Tensor::empty(target.shape(), input.dtype());  // 1 where the target counts
  double wsum = 0, count = 0;
  for (int64_t i = 0; i < t64.numel(); ++i) {
    const int64_t c = t64.data<int64_t>()[i];
    const bool k = c != ignore_index;
    DG_DISPATCH_FLOAT(keep.dtype(), op, T, keep.data<T>()[i] = k ? T(1) : T(0));
    count += k;
    if (k) wsum += weight.defined() ? weight.at(c) : 1.0;
  }
  smooth = mul(smooth, keep);
  Tensor ret;
  if (r == Reduction::none) ret = smooth;
  else if (r == Reduction::sum) ret = sum(smooth);
  else ret = div(sum(smooth), scalar_like(smooth, weight.defined() ? wsum : count));
  return add(mul(nll, 1.0 - eps), mul(ret, eps / (double)C));
}

// ---- kl_div --------------------------------------------------------------------------------------
// pointwise: y (log y - x)  [0 where y = 0];  with log_target: e^y (y - x)
// dx = -y (or -e^y);  dy = log y + 1 - x (or e^y (y - x + 1))
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction r, bool log_target) {
  const char* op = "kl_div";
  if (autocast_widens({input, target})) return kl_div(autocast_f32(input), autocast_f32(target), r, log_target);
  if (is_half(input.dtype()) || is_half(target.dtype())) {
    require_same_dtype(op, input, target);
    return kl_div(input.to(DType::f32), target.to(DType::f32), r, log_target).to(input.dtype());
  }
  pair_check(op, input, target);
  Tensor pw = log_target ? binary_map(op, input, target, [](auto x, auto y) { return std::exp(y) * (y - x); })
                         : binary_map(op, input, target, [](auto x, auto y) {
                             using T = decltype(x);
                             return y > 0 ? y * (std::log(y) - x) : (y == 0 ? T(0) : T(NAN));
                           });
  Tensor sx = input.detach(), sy = target.detach();
  bool gx = input.requires_grad(), gy = target.requires_grad();
  pw = record(op, pw, {input, target}, [sx, sy, gx, gy, log_target](const Tensor& g) {
    Tensor dx, dy;
    if (gx) dx = sum_to(mul(g, log_target ? neg(exp(sy)) : neg(sy)), sx.shape());
    if (gy) {
      Tensor d = log_target ? binary_map("kl_div", sx, sy, [](auto x, auto y) { return std::exp(y) * (y - x + 1); })
                            : binary_map("kl_div", sx, sy, [](auto x, auto y) { return std::log(y) + 1 - x; });
      dy = sum_to(mul(g, d), sy.shape());
    }
    return grads({dx, dy});
  });
  if (r == Reduction::batchmean) {
    const double n = input.dim() ? (double)input.shape()[0] : 1.0;
    return div(sum(pw), scalar_like(pw, n));
  }
  return reduce(op, pw, r);
}

}  // namespace dg
