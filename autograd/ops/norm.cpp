// Normalisation ops. Shape legend: batch_norm sees x as [N, C, S] (S = product of the dims after C)
// and normalises each channel over N*S elements; group_norm and layer_norm see x as M rows of K
// contiguous elements, normalised row by row. Statistics accumulate in double, one thread per
// channel or row, in index order: the same bits for any thread count.
//
// The shared backward (Ioffe & Szegedy 2015, eq. after Alg. 1), for a group of n elements with
// xhat = (x - mean) * rstd and gy = g * weight:
//   dx = rstd * (gy - mean(gy) - xhat * mean(gy * xhat))
//   dweight = sum g * xhat,   dbias = sum g   (summed over every element using that parameter)
#include "autograd/ops/norm.h"

#include <cmath>
#include <memory>
#include <vector>

#include "autograd/autocast.h"
#include "autograd/kernels/broadcast.h"
#include "autograd/ops/common.h"

namespace dg {
using namespace ops_detail;

namespace {
void check_param(const char* op, const char* name, const Tensor& p, const Tensor& x, const Shape& want) {
  if (!p.defined()) return;
  check(p.dtype() == x.dtype(), op, ": ", name, " is ", dtype_name(p.dtype()), " but input is ", dtype_name(x.dtype()));
  check(p.shape() == want, op, ": ", name, " has shape ", shape_text(p.shape()), ", expected ", shape_text(want),
        " for input ", shape_text(x.shape()));
}

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
}  // namespace

// ---- kernels (raw pointers; the ops below check shapes and dispatch on the dtype) -------------
namespace {
// Per-channel statistics of x [N, C, S], the output, and (training) the running-stat update.
// w, b, rm, rv may be null. mean/rstd receive what the output used (for backward).
// The arithmetic follows PyTorch's CPU kernel (fused multiply-adds included), as for layer_norm
// (NOTE [ PyTorch's rounding order in layer_norm ] below): with two or three values per channel, dx
// is dominated by cancellation and otherwise differs from PyTorch's in the 9th digit.
template <class T>
void batch_norm_forward_kernel(const T* x, const T* w, const T* b, T* rm, T* rv, T* y, double* mean, double* rstd,
                               int64_t N, int64_t C, int64_t S, bool training, double momentum, double eps) {
  const int64_t n = N * S;
#pragma omp parallel for schedule(static) if (N * C * S >= kernels::kParallelMin)
  for (int64_t c = 0; c < C; ++c) {
    double m, r;
    if (training) {
      double s = 0, ss = 0;
      for (int64_t i = 0; i < N; ++i)
        for (int64_t k = 0; k < S; ++k) s += x[(i * C + c) * S + k];
      m = s / (double)n;
      for (int64_t i = 0; i < N; ++i)
        for (int64_t k = 0; k < S; ++k) {
          const double d = x[(i * C + c) * S + k] - m;
          ss += d * d;
        }
      r = 1.0 / std::sqrt(ss / (double)n + eps);
      // running statistics take the unbiased variance, as PyTorch
      if (rm) rm[c] = (T)(momentum * m + (1.0 - momentum) * (double)rm[c]);
      if (rv) rv[c] = (T)(momentum * (ss / (double)(n - 1)) + (1.0 - momentum) * (double)rv[c]);
    } else {
      m = (double)rm[c];
      r = 1.0 / std::sqrt((double)rv[c] + eps);
    }
    mean[c] = m;
    rstd[c] = r;
    // y = (x - m) a + b, evaluated as x a + (b - m a). Per element: plain multiply-add in double, not
    // std::fma (without FMA in the baseline ISA that is a libm call per element: 4% of a training step).
    const double a = r * (w ? (double)w[c] : 1.0), bb = std::fma(-m, a, b ? (double)b[c] : 0.0);
    for (int64_t i = 0; i < N; ++i)
      for (int64_t k = 0; k < S; ++k) {
        const int64_t j = (i * C + c) * S + k;
        y[j] = (T)((double)x[j] * a + bb);
      }
  }
}

// dx (training: through the batch statistics; eval: g * w * rstd), dw = sum g xhat, db = sum g.
// dw, db may be null.
template <class T>
void batch_norm_backward_kernel(const T* x, const T* w, const T* g, const double* mean, const double* rstd, T* dx,
                                T* dw, T* db, int64_t N, int64_t C, int64_t S, bool training) {
  const double n = (double)(N * S);
#pragma omp parallel for schedule(static) if (N * C * S >= kernels::kParallelMin)
  for (int64_t c = 0; c < C; ++c) {
    const double m = mean[c], r = rstd[c], wc = w ? (double)w[c] : 1.0;
    double sg = 0, dot = 0;  // sum g, sum g (x - m)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t k = 0; k < S; ++k) {
        const int64_t j = (i * C + c) * S + k;
        sg += g[j];
        dot += ((double)x[j] - m) * (double)g[j];
      }
    // dx = (g - mean(g) - (x - m) k) r w,  k = mean(g (x - m)) r^2  (= the formula at the top of the file)
    const double kk = dot * r * r / n, gm = sg / n;
    for (int64_t i = 0; i < N; ++i)
      for (int64_t k = 0; k < S; ++k) {
        const int64_t j = (i * C + c) * S + k;
        dx[j] = training ? (T)(((double)g[j] - gm - ((double)x[j] - m) * kk) * r * wc) : (T)((double)g[j] * r * wc);
      }
    if (dw) dw[c] = (T)(dot * r);
    if (db) db[c] = (T)sg;
  }
}

// x viewed as M rows of K. The affine parameter of element k of row m is
//   (m % G) * Cg + k / inner
// layer_norm: G = 1, Cg = K, inner = 1 (one parameter per element of the row);
// group_norm: rows are (n, group), G = groups, Cg = C / G, inner = S (one parameter per channel).
struct RowPlan {
  int64_t M = 0, K = 0, G = 1, Cg = 1, inner = 1, nparam = 0;
  bool per_channel = false;  // group_norm: PyTorch groups its sums per channel (NOTE below)
  int64_t param(int64_t m, int64_t k) const { return (m % G) * Cg + k / inner; }
};

// NOTE [ PyTorch's rounding order in layer_norm ]
// The kernels below evaluate the formulas at the top of this file in the order, and with the fused
// multiply-adds, that PyTorch's CPU kernels use (found by comparing bits with PyTorch 1.13):
//   layer_norm:  y = fma(fma(x, r, -r mu), w, b)
//                dx = fma(b', x, (r g) w) + c',  b' = fma(S_g, mu, -S_gx) r^3 / K,  c' = fma(-b', mu, -S_g r / K)
//   group_norm:  y = fma(s, x, b - s mu), s = r w     (without weight and bias: (x - mu) r)
//                dx = fma(r w, g, c2 x) + c3 with c2, c3 as b', c' but S_g, S_gx summed per channel
//                first (S_gx by fused multiply-adds)
//   batch_norm:  see batch_norm_forward_kernel.
// Mathematically nothing changes. It matters in degenerate groups of one or two elements: the exact
// dx is 0 (or of order eps) and the computed one is rounding noise, which now agrees with PyTorch's
// noise instead of being different noise (a 1e-10 comparison would otherwise fail there). Rows of up
// to 4 elements take their moments by Welford's update, as PyTorch does for rows that short.
template <class T>
void row_norm_forward_kernel(const RowPlan& p, const T* x, const T* w, const T* b, T* y, double* mean, double* rstd,
                             double eps) {
#pragma omp parallel for schedule(static) if (p.M * p.K >= kernels::kParallelMin)
  for (int64_t m = 0; m < p.M; ++m) {
    const T* row = x + m * p.K;
    double mu = 0, ss = 0;  // mean, sum of squared deviations
    if (p.K <= 4) {         // Welford
      for (int64_t k = 0; k < p.K; ++k) {
        const double d = (double)row[k] - mu;
        mu += d / (double)(k + 1);
        ss += d * ((double)row[k] - mu);
      }
    } else {  // two passes
      for (int64_t k = 0; k < p.K; ++k) mu += row[k];
      mu /= (double)p.K;
      for (int64_t k = 0; k < p.K; ++k) ss += ((double)row[k] - mu) * ((double)row[k] - mu);
    }
    const double r = 1.0 / std::sqrt(ss / (double)p.K + eps);
    mean[m] = mu;
    rstd[m] = r;
    for (int64_t k = 0; k < p.K; ++k) {
      const int64_t q = p.param(m, k);
      const double xv = row[k], wq = w ? (double)w[q] : 1.0, bq = b ? (double)b[q] : 0.0;
      double v;
      if (!p.per_channel) v = std::fma(std::fma(xv, r, -r * mu), wq, bq);
      else if (w || b) v = std::fma(r * wq, xv, -(r * wq) * mu + bq);
      else v = (xv - mu) * r;
      y[m * p.K + k] = (T)v;
    }
  }
}

template <class T>
void row_norm_backward_kernel(const RowPlan& p, const T* x, const T* w, const T* g, const double* mean,
                              const double* rstd, T* dx, T* dw, T* db) {
  const double s = 1.0 / (double)p.K;
  auto wk = [&](int64_t m, int64_t k) { return w ? (double)w[p.param(m, k)] : 1.0; };
#pragma omp parallel for schedule(static) if (p.M * p.K >= kernels::kParallelMin)
  for (int64_t m = 0; m < p.M; ++m) {
    const double mu = mean[m], r = rstd[m];
    const T* gr = g + m * p.K;
    const T* xr = x + m * p.K;
    double sgx = 0, sg = 0;  // sum g w x, sum g w over the row
    if (!p.per_channel) {
      for (int64_t k = 0; k < p.K; ++k) {
        sgx += (double)gr[k] * (double)xr[k] * wk(m, k);
        sg += (double)gr[k] * wk(m, k);
      }
    } else {
      for (int64_t j = 0; j < p.Cg; ++j) {  // per channel j of the group, then weighted
        double sgxj = 0, sgj = 0;
        for (int64_t k = j * p.inner; k < (j + 1) * p.inner; ++k) {
          sgxj = std::fma((double)gr[k], (double)xr[k], sgxj);
          sgj += (double)gr[k];
        }
        sgx += sgxj * wk(m, j * p.inner);
        sg += sgj * wk(m, j * p.inner);
      }
    }
    // dx = r g w + b' (x - mu) - S_g r / K,   b' = -S_{g(x-mu)} r^3 / K
    const double b2 = std::fma(sg, mu, -sgx) * r * r * r * s, c2 = std::fma(-b2, mu, -(sg * r * s));
    for (int64_t k = 0; k < p.K; ++k) {
      const double xv = xr[k], gv = gr[k];
      dx[m * p.K + k] = p.per_channel ? (T)(std::fma(r * wk(m, k), gv, b2 * xv) + c2)
                                      : (T)(std::fma(b2, xv, (r * gv) * wk(m, k)) + c2);
    }
  }
  if (!dw && !db) return;
  // Parameters are shared across rows: one serial pass in (row, element) order (deterministic).
  // dw = sum g xhat, db = sum g; group_norm sums per (row, channel) first: (S_gx - mu S_g) r.
  std::vector<double> sw((size_t)p.nparam, 0.0), sb((size_t)p.nparam, 0.0);
  for (int64_t m = 0; m < p.M; ++m) {
    const double mu = mean[m], r = rstd[m];
    const int64_t step = p.per_channel ? p.inner : 1;
    for (int64_t k0 = 0; k0 < p.K; k0 += step) {
      const int64_t q = p.param(m, k0);
      if (p.per_channel) {
        double sgx = 0, sg = 0;
        for (int64_t k = k0; k < k0 + step; ++k) {
          sgx = std::fma((double)g[m * p.K + k], (double)x[m * p.K + k], sgx);
          sg += (double)g[m * p.K + k];
        }
        sw[(size_t)q] += std::fma(-sg, mu, sgx) * r;
        sb[(size_t)q] += sg;
      } else {
        const int64_t j = m * p.K + k0;
        sw[(size_t)q] += (double)g[j] * std::fma(r, (double)x[j], -r * mu);
        sb[(size_t)q] += (double)g[j];
      }
    }
  }
  for (int64_t q = 0; q < p.nparam; ++q) {
    if (dw) dw[q] = (T)sw[(size_t)q];
    if (db) db[q] = (T)sb[(size_t)q];
  }
}

template <class T>
T* mut_or_null(const Tensor& t) {
  return t.defined() ? const_cast<T*>(t.data<T>()) : nullptr;
}

Tensor empty_if(bool want, const Shape& s, DType dt) { return want ? Tensor::empty(s, dt) : Tensor(); }
}  // namespace

// ---- batch_norm ----------------------------------------------------------------------------------
// y[n,c,s] = (x[n,c,s] - mean_c) * rstd_c * w_c + b_c
// training: mean_c, var_c (biased) of the batch; full backward through them (see top of file)
// eval: mean_c = rm_c, rstd_c = 1/sqrt(rv_c + eps): dx = g * w_c * rstd_c
// f16/bf16 x (with f32 weight, bias and running statistics -- a BatchNorm layer under autocast, as
// PyTorch's batch norm on half input): x is widened exactly, the statistics and arithmetic are the f32
// kernel's, y and dx are rounded once to x's type, dw/db stay f32. The node saves x in its half type,
// so a conv -> BN -> ReLU block under autocast keeps half-size activations alive (docs/memory.md).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  require_floating(op, x);
  check(x.dim() >= 2, op, ": expected an input [N,C,*] with at least 2 dims, got shape ", shape_text(x.shape()));
  const DType xt = x.dtype();
  const bool half = is_half(xt);
  if (half) {
    for (const Tensor* p : {&running_mean, &running_var, &weight, &bias})
      check(!p->defined() || p->dtype() == DType::f32, op, ": ", dtype_name(xt),
            " input needs f32 weight, bias and running statistics, got ", dtype_name(p->dtype()));
  }
  const Tensor xc = half ? x.detach().to(DType::f32) : x;  // the compute type's view of x
  const int64_t N = x.size(0), C = x.size(1), S = N * C > 0 ? x.numel() / (N * C) : 0;
  check_param(op, "running_mean", running_mean, xc, {C});
  check_param(op, "running_var", running_var, xc, {C});
  check_param(op, "weight", weight, xc, {C});
  check_param(op, "bias", bias, xc, {C});
  check(training || (running_mean.defined() && running_var.defined()), op,
        ": running_mean and running_var are required in evaluation mode (training=false)");
  check(!training || N * S > 1, op, ": expected more than 1 value per channel when training, got input ",
        shape_text(x.shape()));
  // per-channel statistics used for the output, kept for backward
  auto mean = std::make_shared<std::vector<double>>((size_t)C), rstd = std::make_shared<std::vector<double>>((size_t)C);
  Tensor out = Tensor::empty(x.shape(), xc.dtype());
  DG_DISPATCH_FLOAT(xc.dtype(), op, T,
    batch_norm_forward_kernel<T>(xc.data<T>(), ptr_or_null<T>(weight), ptr_or_null<T>(bias), mut_or_null<T>(running_mean),
                                 mut_or_null<T>(running_var), out.data<T>(), mean->data(), rstd->data(), N, C, S,
                                 training, momentum, eps));
  if (half) out = out.to(xt);
  Tensor sx = x.detach(), sw = weight.defined() ? weight.detach() : Tensor();
  const bool gw = weight.defined() && weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
  return record(op, out, {x, weight, bias}, [sx, sw, mean, rstd, training, gw, gb, N, C, S, half, xt](const Tensor& g) {
    const Tensor xc = half ? sx.to(DType::f32) : sx, gc = half ? g.to(DType::f32) : g;
    Tensor dx = Tensor::empty(xc.shape(), xc.dtype());
    Tensor dw = empty_if(gw, {C}, xc.dtype()), db = empty_if(gb, {C}, xc.dtype());
    DG_DISPATCH_FLOAT(xc.dtype(), "batch_norm", T,
      batch_norm_backward_kernel<T>(xc.data<T>(), ptr_or_null<T>(sw), gc.data<T>(), mean->data(), rstd->data(),
                                    dx.data<T>(), mut_or_null<T>(dw), mut_or_null<T>(db), N, C, S, training));
    return grads({half ? dx.to(xt) : dx, dw, db});
  });
}

// ---- group_norm / layer_norm: rows of K contiguous elements -------------------------------------
namespace {
Tensor row_norm(const char* op, const Tensor& x, const RowPlan& p, const Tensor& weight, const Tensor& bias,
                double eps) {
  auto mean = std::make_shared<std::vector<double>>((size_t)p.M),
       rstd = std::make_shared<std::vector<double>>((size_t)p.M);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  DG_DISPATCH_FLOAT(x.dtype(), op, T,
    row_norm_forward_kernel<T>(p, x.data<T>(), ptr_or_null<T>(weight), ptr_or_null<T>(bias), out.data<T>(),
                               mean->data(), rstd->data(), eps));
  Tensor sx = x.detach(), sw = weight.defined() ? weight.detach() : Tensor();
  const bool gw = weight.defined() && weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
  const Shape wshape = weight.defined() ? weight.shape() : bias.defined() ? bias.shape() : Shape{};
  return record(op, out, {x, weight, bias}, [sx, sw, mean, rstd, p, gw, gb, wshape, op](const Tensor& g) {
    Tensor dx = Tensor::empty(sx.shape(), sx.dtype());
    Tensor dw = empty_if(gw, wshape, sx.dtype()), db = empty_if(gb, wshape, sx.dtype());
    DG_DISPATCH_FLOAT(sx.dtype(), op, T,
      row_norm_backward_kernel<T>(p, sx.data<T>(), ptr_or_null<T>(sw), g.data<T>(), mean->data(), rstd->data(),
                                  dx.data<T>(), mut_or_null<T>(dw), mut_or_null<T>(db)));
    return grads({dx, dw, db});
  });
}
}  // namespace

// y[n, c, s] = (x - mean_{n,g}) * rstd_{n,g} * w_c + b_c,   g = c / (C / num_groups)
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "group_norm";
  if (amp::autocast_widens({x, weight, bias}))  // autocast: f32 op
    return group_norm(amp::autocast_f32(x), num_groups, amp::autocast_f32(weight), amp::autocast_f32(bias), eps);
  if (is_half(x.dtype()))
    return group_norm(x.to(DType::f32), num_groups, weight.defined() ? weight.to(DType::f32) : weight,
                      bias.defined() ? bias.to(DType::f32) : bias, eps)
        .to(x.dtype());
  require_floating(op, x);
  check(x.dim() >= 2, op, ": expected an input [N,C,*] with at least 2 dims, got shape ", shape_text(x.shape()));
  const int64_t N = x.size(0), C = x.size(1);
  check(num_groups > 0 && C % num_groups == 0, op, ": num_groups ", num_groups, " must divide the ", C,
        " channels of input ", shape_text(x.shape()));
  check_param(op, "weight", weight, x, {C});
  check_param(op, "bias", bias, x, {C});
  // F.group_norm's batch-size check (the product N * C/num_groups * spatial must exceed 1)
  check(x.numel() / num_groups != 1, op, ": expected more than 1 value per channel when training, got input ",
        shape_text(x.shape()), " with num_groups ", num_groups, " (PyTorch's check: N * C / num_groups * spatial > 1)");
  RowPlan p;
  p.G = num_groups;
  p.Cg = C / num_groups;
  p.inner = x.numel() / std::max<int64_t>(1, N * C);
  p.M = N * num_groups;
  p.K = p.Cg * p.inner;
  p.nparam = C;
  p.per_channel = true;
  return row_norm(op, x, p, weight, bias, eps);
}

// y[.., k] = (x - mean_row) * rstd_row * w_k + b_k over the trailing normalized_shape dims
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const char* op = "layer_norm";
  if (amp::autocast_widens({x, weight, bias}))  // autocast: f32 op
    return layer_norm(amp::autocast_f32(x), normalized_shape, amp::autocast_f32(weight), amp::autocast_f32(bias), eps);
  if (is_half(x.dtype()))
    return layer_norm(x.to(DType::f32), normalized_shape, weight.defined() ? weight.to(DType::f32) : weight,
                      bias.defined() ? bias.to(DType::f32) : bias, eps)
        .to(x.dtype());
  require_floating(op, x);
  const int64_t k = (int64_t)normalized_shape.size();
  bool match = k >= 1 && k <= x.dim();
  for (int64_t i = 0; match && i < k; ++i) match = x.shape()[(size_t)(x.dim() - k + i)] == normalized_shape[(size_t)i];
  check(match, op, ": normalized_shape ", shape_text(normalized_shape), " must equal the last dims of input ",
        shape_text(x.shape()));
  check_param(op, "weight", weight, x, normalized_shape);
  check_param(op, "bias", bias, x, normalized_shape);
  RowPlan p;
  p.K = shape_numel(normalized_shape);
  p.M = p.K ? x.numel() / p.K : 0;
  p.G = 1;
  p.Cg = p.K;
  p.inner = 1;
  p.nparam = p.K;
  return row_norm(op, x, p, weight, bias, eps);
}

}  // namespace dg
