// Activations. Element-wise ones: out and dx have x's shape. softmax / log_softmax view x as
// [outer, R, inner] with R the softmax dim.
#include "autograd/ops/activation.h"

#include <cmath>

#include "autograd/autocast.h"
#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"

namespace dg {
using namespace ops_detail;

#define DG_HALF_ACT(FN, X, ...) \
  if (is_half(X.dtype())) return FN(X.to(DType::f32) __VA_OPT__(, ) __VA_ARGS__).to(X.dtype())

// out = max(x, 0);  dx = g * [x > 0]
// f16/bf16: exact in any type, so computed on widened copies and rounded back (no rounding happens),
// but recorded as one node that saves x in its half type (not the widened copy: half the memory).
Tensor relu(const Tensor& x) {
  const bool half = is_half(x.dtype());
  const Tensor xc = half ? x.detach().to(DType::f32) : x;
  Tensor out = unary_map("relu", xc, [](auto v) { return v > 0 ? v : decltype(v)(0); });
  if (half) out = out.to(x.dtype());
  Tensor sx = x.detach();
  return record("relu", out, {x}, [sx, half](const Tensor& g) {
    const Tensor gc = half ? g.to(DType::f32) : g, xc = half ? sx.to(DType::f32) : sx;
    Tensor dx = binary_map("relu", gc, xc, [](auto gi, auto v) { return v > 0 ? gi : decltype(gi)(0); });
    return grads({half ? dx.to(g.dtype()) : dx});
  });
}

// out = x > 0 ? x : s x;  dx = g * (x > 0 ? 1 : s)
Tensor leaky_relu(const Tensor& x, double s) {
  DG_HALF_ACT(leaky_relu, x, s);
  Tensor out = unary_map("leaky_relu", x, [s](auto v) { return v > 0 ? v : (decltype(v))s * v; });
  Tensor sx = x.detach();
  return record("leaky_relu", out, {x}, [sx, s](const Tensor& g) {
    return grads({binary_map("leaky_relu", g, sx, [s](auto gi, auto v) { return v > 0 ? gi : (decltype(gi))s * gi; })});
  });
}

// Numerically stable logistic: never exponentiates a large positive number.
template <class T>
static T stable_sigmoid(T v) {
  if (v >= 0) return T(1) / (T(1) + std::exp(-v));
  T e = std::exp(v);
  return e / (T(1) + e);
}

// NOTE [ Saturating derivatives from x ]
// s(x)(1 - s(x)) and 1 - tanh(x)^2 cancel badly when evaluated from a rounded output near 1 (f32
// holds 1 - y only to a few digits there). Both are evaluated from the saved input instead, in
// double: s(x) s(-x) and 1 / cosh(x)^2, accurate to the last bit at any saturation.

// out = 1 / (1 + e^-x);  dx = g * s(x) * s(-x)   (= g * out * (1 - out))
Tensor sigmoid(const Tensor& x) {
  DG_HALF_ACT(sigmoid, x);
  Tensor out = unary_map("sigmoid", x, [](auto v) { return stable_sigmoid(v); });
  Tensor sx = x.detach();
  return record("sigmoid", out, {x}, [sx](const Tensor& g) {
    return grads({binary_map("sigmoid", g, sx, [](auto gi, auto v) {
      return (decltype(gi))((double)gi * stable_sigmoid((double)v) * stable_sigmoid(-(double)v));
    })});
  });
}

// out = tanh x;  dx = g / cosh(x)^2   (= g * (1 - out^2))
Tensor tanh(const Tensor& x) {
  DG_HALF_ACT(tanh, x);
  Tensor out = unary_map("tanh", x, [](auto v) { return std::tanh(v); });
  Tensor sx = x.detach();
  return record("tanh", out, {x}, [sx](const Tensor& g) {
    return grads({binary_map("tanh", g, sx, [](auto gi, auto v) {
      const double c = std::cosh((double)v);
      return (decltype(gi))((double)gi / (c * c));
    })});
  });
}

// out = x s(x);  dx = g * s(x) * (1 + x (1 - s(x)))
Tensor silu(const Tensor& x) {
  DG_HALF_ACT(silu, x);
  Tensor out = unary_map("silu", x, [](auto v) { return v * stable_sigmoid(v); });
  Tensor sx = x.detach();
  return record("silu", out, {x}, [sx](const Tensor& g) {
    return grads({binary_map("silu", g, sx, [](auto gi, auto v) {
      auto s = stable_sigmoid(v);
      return gi * s * (1 + v * (1 - s));
    })});
  });
}

// out = log(1 + e^(b x)) / b  (x where b x > threshold)
// dx = g * sigmoid(b x)       (g where b x > threshold)
Tensor softplus(const Tensor& x, double beta, double threshold) {
  if (amp::autocast_widens({x})) return softplus(amp::autocast_f32(x), beta, threshold);  // autocast: f32 op
  DG_HALF_ACT(softplus, x, beta, threshold);
  Tensor out = unary_map("softplus", x, [beta, threshold](auto v) {
    using T = decltype(v);
    T z = v * (T)beta;
    if (z > (T)threshold) return v;
    // log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large z, no cancellation for small.
    return (std::max(z, T(0)) + std::log1p(std::exp(-std::abs(z)))) / (T)beta;
  });
  Tensor sx = x.detach();
  return record("softplus", out, {x}, [sx, beta, threshold](const Tensor& g) {
    return grads({binary_map("softplus", g, sx, [beta, threshold](auto gi, auto v) {
      using T = decltype(v);
      T z = v * (T)beta;
      return z > (T)threshold ? gi : gi * stable_sigmoid(z);
    })});
  });
}

// ---- softmax / log_softmax -----------------------------------------------------------------------
// x viewed as [outer, R, inner]; each (o, i) column is normalised over r.
template <class T>
static void softmax_kernel(const T* x, T* out, int64_t outer, int64_t R, int64_t inner, bool log_form) {
  const int64_t total = outer * R * inner;
#pragma omp parallel for schedule(static) if (total >= kernels::kParallelMin)
  for (int64_t oi = 0; oi < outer * inner; ++oi) {
    const int64_t o = oi / inner, i = oi % inner;
    const T* p = x + o * R * inner + i;
    T* q = out + o * R * inner + i;
    T m = -INFINITY;
    for (int64_t r = 0; r < R; ++r) m = std::max(m, p[r * inner]);
    if (std::isinf(m) && m < 0) m = 0;  // an all -inf column: avoid (-inf) - (-inf)
    double s = 0;
    for (int64_t r = 0; r < R; ++r) s += std::exp((double)(p[r * inner] - m));
    if (log_form) {
      const T lse = (T)std::log(s);
      for (int64_t r = 0; r < R; ++r) q[r * inner] = p[r * inner] - m - lse;
    } else {
      for (int64_t r = 0; r < R; ++r) q[r * inner] = (T)(std::exp((double)(p[r * inner] - m)) / s);
    }
  }
}

// Backward of both, fused, in double:
//   softmax:     dx = y * (g - sum_r g y)  computed as  y * (g S - sum_r g y),  S = sum_r y
//   log_softmax: dx = g - e^y * sum_r g     computed as  g P - e^y sum_r g,  P = sum_r e^y
// When one class dominates, g - sum g y cancels: 1 - y_max is tiny and f32 y_max holds it only to
// a few digits. With S (= 1 mathematically) the bracket is sum_s y_s (g_r - g_s), a sum of small,
// accurately known terms, so f32 gradients stay accurate to f32 precision. P plays the same role
// for log_softmax.
template <class T>
static void softmax_backward_kernel(const T* g, const T* y, T* dx, int64_t outer, int64_t R, int64_t inner,
                                    bool log_form) {
  const int64_t total = outer * R * inner;
#pragma omp parallel for schedule(static) if (total >= kernels::kParallelMin)
  for (int64_t oi = 0; oi < outer * inner; ++oi) {
    const int64_t base = (oi / inner) * R * inner + oi % inner;
    double acc = 0, S = 0;
    for (int64_t r = 0; r < R; ++r) {
      const int64_t k = base + r * inner;
      acc += log_form ? (double)g[k] : (double)g[k] * (double)y[k];
      S += log_form ? std::exp((double)y[k]) : (double)y[k];
    }
    for (int64_t r = 0; r < R; ++r) {
      const int64_t k = base + r * inner;
      dx[k] = log_form ? (T)((double)g[k] * S - std::exp((double)y[k]) * acc)
                       : (T)((double)y[k] * ((double)g[k] * S - acc));
    }
  }
}

// Shared by softmax and log_softmax: forward kernel, then the fused backward kernel.
static Tensor softmax_op(const char* op, const Tensor& x, int64_t dim, bool log_form) {
  require_floating(op, x);
  const int64_t d = wrap_dim(op, dim, x);
  int64_t outer = 1, inner = 1;
  const int64_t R = x.dim() ? x.shape()[(size_t)d] : 1;
  for (int64_t i = 0; i < d; ++i) outer *= x.shape()[(size_t)i];
  for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[(size_t)i];
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  DG_DISPATCH_FLOAT(x.dtype(), op, T, softmax_kernel(x.data<T>(), out.data<T>(), outer, R, inner, log_form));
  Tensor so = out.detach();
  return record(op, out, {x}, [so, outer, R, inner, log_form, op](const Tensor& g) {
    Tensor dx = Tensor::empty(g.shape(), g.dtype());
    DG_DISPATCH_FLOAT(g.dtype(), op, T,
      softmax_backward_kernel(g.data<T>(), so.data<T>(), dx.data<T>(), outer, R, inner, log_form));
    return grads({dx});
  });
}

// out = e^x / sum_r e^x;  dx = out * (g - sum_r(g * out))
Tensor softmax(const Tensor& x, int64_t dim) {
  if (amp::autocast_widens({x})) return softmax(amp::autocast_f32(x), dim);  // autocast: f32 op
  DG_HALF_ACT(softmax, x, dim);
  return softmax_op("softmax", x, dim, false);
}

// out = x - log sum_r e^x;  dx = g - e^out * sum_r g
Tensor log_softmax(const Tensor& x, int64_t dim) {
  if (amp::autocast_widens({x})) return log_softmax(amp::autocast_f32(x), dim);  // autocast: f32 op
  DG_HALF_ACT(log_softmax, x, dim);
  return softmax_op("log_softmax", x, dim, true);
}

}  // namespace dg
