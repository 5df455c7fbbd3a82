// Element-wise ops. Shapes: a, b broadcast to out (NumPy rules); every gradient is reduced back to
// its input's shape with sum_to (the adjoint of broadcasting).
#include "autograd/ops/elementwise.h"

#include <cmath>
#include <limits>

#include "autograd/autocast.h"
#include "autograd/kernels/broadcast.h"
#include "autograd/ops/common.h"
#include "autograd/ops/reduce.h"

namespace dg {
using namespace ops_detail;

// ---- generic forward helpers ---------------------------------------------------------------------

// Comparison of any two same-dtype tensors into a bool tensor.
template <class F>
static Tensor compare_map(const char* op, const Tensor& a, const Tensor& b, F f) {
  check(a.dtype() == b.dtype(), op, ": dtype mismatch: ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  Shape out_shape = broadcast_shapes(op, a.shape(), b.shape());
  Tensor out = Tensor::empty(out_shape, DType::b8);
  auto sa = broadcast_strides(a.shape(), out_shape), sb = broadcast_strides(b.shape(), out_shape);
  uint8_t* o = static_cast<uint8_t*>(out.raw());
  auto run = [&](auto* pa, auto* pb) {
    kernels::broadcast_binary(out_shape, pa, sa.data(), pb, sb.data(), o,
                              [&](auto x, auto y) { return (uint8_t)(f((double)x, (double)y) ? 1 : 0); });
  };
  switch (a.dtype()) {
    case DType::f32: run(a.data<float>(), b.data<float>()); break;
    case DType::f64: run(a.data<double>(), b.data<double>()); break;
    case DType::i64: run(a.data<int64_t>(), b.data<int64_t>()); break;
    case DType::i32: run(a.data<int32_t>(), b.data<int32_t>()); break;
    case DType::u8:
    case DType::b8: run(static_cast<const uint8_t*>(a.raw()), static_cast<const uint8_t*>(b.raw())); break;
    default: return compare_map(op, a.to(DType::f32), b.to(DType::f32), f);
  }
  return out;
}

// f16/bf16: compute in f32 and round back. The casts are differentiable, so the graph stays exact.
// Inside an autocast scope, a binary op with mixed floating dtypes (f16 conv output + f32 bias or
// residual) runs in the wider type instead of failing (NOTE [ Autocast hooks ] in autograd/autocast.h).
#define DG_HALF_UNARY(FN, X, ...) \
  if (is_half(X.dtype())) return FN(X.to(DType::f32) __VA_OPT__(, ) __VA_ARGS__).to(X.dtype())
#define DG_HALF_BINARY(FN, A, B, ...)                                                                            \
  if (is_half(A.dtype()) || is_half(B.dtype())) {                                                                \
    if (amp::autocast_enabled() && A.dtype() != B.dtype() && is_floating(A.dtype()) && is_floating(B.dtype())) { \
      const DType w = amp::promote_types(A.dtype(), B.dtype());                                                  \
      return FN(A.to(w), B.to(w) __VA_OPT__(, ) __VA_ARGS__);                                                    \
    }                                                                                                            \
    require_same_dtype(#FN, A, B);                                                                               \
    return FN(A.to(DType::f32), B.to(DType::f32) __VA_OPT__(, ) __VA_ARGS__).to(A.dtype());                      \
  }

// ---- add / sub -----------------------------------------------------------------------------------
// out = a + alpha*b
// da = sum_to(g, a.shape), db = alpha * sum_to(g, b.shape)
Tensor add(const Tensor& a, const Tensor& b, double alpha) {
  DG_HALF_BINARY(add, a, b, alpha);
  Tensor out = alpha == 1.0 ? binary_map("add", a, b, [](auto x, auto y) { return x + y; })
                            : binary_map("add", a, b, [alpha](auto x, auto y) { return x + (decltype(x))alpha * y; });
  Shape sa = a.shape(), sb = b.shape();
  return record("add", out, {a, b}, [sa, sb, alpha](const Tensor& g) {
    return grads({sum_to(g, sa), alpha == 1.0 ? sum_to(g, sb) : sum_to(mul(g, alpha), sb)});
  });
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) { return add(a, b, -alpha); }
Tensor add(const Tensor& a, double b) { return add(a, scalar_like(a, b)); }
Tensor sub(const Tensor& a, double b) { return add(a, scalar_like(a, -b)); }

// ---- mul / div -----------------------------------------------------------------------------------
// out = a * b
// da = sum_to(g * b), db = sum_to(g * a)
Tensor mul(const Tensor& a, const Tensor& b) {
  DG_HALF_BINARY(mul, a, b);
  Tensor out = binary_map("mul", a, b, [](auto x, auto y) { return x * y; });
  Tensor sa = a.detach(), sb = b.detach();
  bool ga = a.requires_grad(), gb = b.requires_grad();
  return record("mul", out, {a, b}, [sa, sb, ga, gb](const Tensor& g) {
    return grads({ga ? sum_to(mul(g, sb), sa.shape()) : Tensor(), gb ? sum_to(mul(g, sa), sb.shape()) : Tensor()});
  });
}
Tensor mul(const Tensor& a, double b) {
  DG_HALF_UNARY(mul, a, b);
  Tensor out = unary_map("mul", a, [b](auto x) { return x * (decltype(x))b; });
  return record("mul", out, {a}, [b](const Tensor& g) { return grads({mul(g, b)}); });
}

// out = a / b
// da = sum_to(g / b), db = sum_to(-g * out / b)
Tensor div(const Tensor& a, const Tensor& b) {
  DG_HALF_BINARY(div, a, b);
  Tensor out = binary_map("div", a, b, [](auto x, auto y) { return x / y; });
  Tensor sb = b.detach(), so = out.detach();
  Shape sa = a.shape();
  bool ga = a.requires_grad(), gb = b.requires_grad();
  return record("div", out, {a, b}, [sa, sb, so, ga, gb](const Tensor& g) {
    Tensor g_over_b = div(g, sb);
    return grads({ga ? sum_to(g_over_b, sa) : Tensor(), gb ? sum_to(neg(mul(g_over_b, so)), sb.shape()) : Tensor()});
  });
}
Tensor div(const Tensor& a, double b) { return mul(a, 1.0 / b); }

// ---- minimum / maximum ---------------------------------------------------------------------------
// out = min(a, b); the gradient goes to the smaller operand, split in half on ties (as PyTorch).
static Tensor min_max(const char* name, const Tensor& a, const Tensor& b, bool is_max) {
  // NaN in either operand gives NaN (x != x tests for NaN).
  Tensor out = is_max ? binary_map(name, a, b, [](auto x, auto y) { return x != x   ? x
                                                                           : y != y ? y
                                                                           : x > y  ? x
                                                                                    : y; })
                      : binary_map(name, a, b, [](auto x, auto y) {
                          return x != x ? x : y != y ? y : x < y ? x : y;
                        });
  Tensor sa = a.detach(), sb = b.detach();
  return record(name, out, {a, b}, [sa, sb, is_max, name](const Tensor& g) {
    // weight_a = 1 where a wins, 1/2 on ties, 0 where b wins; weight_b = 1 - weight_a.
    Tensor wa = binary_map(name, sa, sb, [is_max](auto x, auto y) {
      using T = decltype(x);
      if (x == y) return T(0.5);
      return ((is_max ? x > y : x < y) || x != x) ? T(1) : T(0);
    });
    return grads({sum_to(mul(g, wa), sa.shape()), sum_to(mul(g, sub(scalar_like(wa, 1.0), wa)), sb.shape())});
  });
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  DG_HALF_BINARY(minimum, a, b);
  return min_max("minimum", a, b, false);
}
Tensor maximum(const Tensor& a, const Tensor& b) {
  DG_HALF_BINARY(maximum, a, b);
  return min_max("maximum", a, b, true);
}

// ---- pow -----------------------------------------------------------------------------------------
// out = a^e
// da = g * e * a^(e-1);  de = g * out * log(a), taken as 0 where a == 0 and e >= 0 (PyTorch's choice)
Tensor pow(const Tensor& a, const Tensor& e) {
  if (amp::autocast_widens({a, e})) return pow(amp::autocast_f32(a), amp::autocast_f32(e));  // autocast: f32 op
  DG_HALF_BINARY(pow, a, e);
  Tensor out = binary_map("pow", a, e, [](auto x, auto y) { return std::pow(x, y); });
  Tensor sa = a.detach(), se = e.detach(), so = out.detach();
  bool ga = a.requires_grad(), ge = e.requires_grad();
  return record("pow", out, {a, e}, [sa, se, so, ga, ge](const Tensor& g) {
    Tensor da, de;
    if (ga) {
      Tensor d = binary_map("pow", sa, se,
                            [](auto x, auto y) { return y == 0 ? decltype(x)(0) : y * std::pow(x, y - 1); });
      da = sum_to(mul(g, d), sa.shape());
    }
    if (ge) {
      Tensor lg = binary_map("pow", sa, se,
                             [](auto x, auto y) { return (x == 0 && y >= 0) ? decltype(x)(0) : std::log(x); });
      de = sum_to(mul(g, mul(so, lg)), se.shape());
    }
    return grads({da, de});
  });
}

// out = a^e (scalar e);  da = g * e * a^(e-1)  (0 when e == 0)
Tensor pow(const Tensor& a, double e) {
  if (amp::autocast_widens({a})) return pow(amp::autocast_f32(a), e);  // autocast: f32 op
  DG_HALF_UNARY(pow, a, e);
  require_floating("pow", a);
  Tensor out = e == 2.0 ? unary_map("pow", a, [](auto x) { return x * x; })
                        : unary_map("pow", a, [e](auto x) { return std::pow(x, (decltype(x))e); });
  Tensor sa = a.detach();
  return record("pow", out, {a}, [sa, e](const Tensor& g) {
    if (e == 0.0) return grads({zeros_like(g)});
    Tensor d = unary_map("pow", sa, [e](auto x) {
      using T = decltype(x);
      return e == 2.0 ? T(2) * x : (T)e * std::pow(x, (T)(e - 1));
    });
    return grads({mul(g, d)});
  });
}

// ---- where ---------------------------------------------------------------------------------------
// out = condition ? a : b
// da = sum_to(condition ? g : 0), db = sum_to(condition ? 0 : g)
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  check(condition.dtype() == DType::b8 || condition.dtype() == DType::u8, "where: condition must be bool or u8, got ",
        dtype_name(condition.dtype()));
  if (is_half(a.dtype()) || is_half(b.dtype())) {
    if (amp::autocast_enabled() && a.dtype() != b.dtype() && is_floating(a.dtype()) && is_floating(b.dtype())) {
      const DType w = amp::promote_types(a.dtype(), b.dtype());  // autocast: runs in the wider type
      return where(condition, a.to(w), b.to(w));
    }
    require_same_dtype("where", a, b);
    return where(condition, a.to(DType::f32), b.to(DType::f32)).to(a.dtype());
  }
  require_same_dtype("where", a, b);
  Shape out_shape = broadcast_shapes("where", broadcast_shapes("where", condition.shape(), a.shape()), b.shape());
  Tensor out = Tensor::empty(out_shape, a.dtype());
  auto sc = broadcast_strides(condition.shape(), out_shape), sa = broadcast_strides(a.shape(), out_shape),
       sb = broadcast_strides(b.shape(), out_shape);
  const uint8_t* c = static_cast<const uint8_t*>(condition.raw());
  DG_DISPATCH_FLOAT(a.dtype(), "where", T,
    kernels::broadcast_ternary(out_shape, c, sc.data(), a.data<T>(), sa.data(), b.data<T>(), sb.data(),
                               out.data<T>(), [](uint8_t k, T x, T y) { return k ? x : y; }));
  Tensor cond = condition.detach();
  Shape sha = a.shape(), shb = b.shape();
  return record("where", out, {a, b}, [cond, sha, shb](const Tensor& g) {
    Tensor z = scalar_like(g, 0.0);
    return grads({sum_to(where(cond, g, z), sha), sum_to(where(cond, z, g), shb)});
  });
}

// ---- unary ---------------------------------------------------------------------------------------
// out = -x;  dx = -g
Tensor neg(const Tensor& x) {
  DG_HALF_UNARY(neg, x);
  Tensor out = unary_map("neg", x, [](auto v) { return -v; });
  return record("neg", out, {x}, [](const Tensor& g) { return grads({neg(g)}); });
}

// out = e^x;  dx = g * out
Tensor exp(const Tensor& x) {
  if (amp::autocast_widens({x})) return exp(amp::autocast_f32(x));  // autocast: f32 op
  DG_HALF_UNARY(exp, x);
  Tensor out = unary_map("exp", x, [](auto v) { return std::exp(v); });
  Tensor so = out.detach();
  return record("exp", out, {x}, [so](const Tensor& g) { return grads({mul(g, so)}); });
}

// out = ln x;  dx = g / x
Tensor log(const Tensor& x) {
  if (amp::autocast_widens({x})) return log(amp::autocast_f32(x));  // autocast: f32 op
  DG_HALF_UNARY(log, x);
  Tensor out = unary_map("log", x, [](auto v) { return std::log(v); });
  Tensor sx = x.detach();
  return record("log", out, {x}, [sx](const Tensor& g) { return grads({div(g, sx)}); });
}

// out = atan x;  dx = g / (x^2 + 1)
Tensor atan(const Tensor& x) {
  require_floating("atan", x);
  if (is_half(x.dtype())) return atan(x.to(DType::f32)).to(x.dtype());
  Tensor out = unary_map("atan", x, [](auto v) { return std::atan(v); });
  Tensor sx = x.detach();
  return record("atan", out, {x}, [sx](const Tensor& g) {
    return grads({binary_map("atan", g, sx, [](auto gi, auto v) { return gi / (v * v + 1); })});
  });
}

// out = atan(w / h) (h != 0), sign(w) pi/2 (h == 0);  dw = g h / (w^2 + h^2), dh = -g w / (w^2 + h^2)
// (both 0 where w = h = 0)
Tensor atan_ratio(const Tensor& w, const Tensor& h) {
  const char* op = "atan_ratio";
  require_same_dtype(op, w, h);
  if (is_half(w.dtype())) return atan_ratio(w.to(DType::f32), h.to(DType::f32)).to(w.dtype());
  check(w.shape() == h.shape(), op, ": w and h must have one shape, got ", shape_text(w.shape()), " and ",
        shape_text(h.shape()));
  constexpr double kHalfPi = 1.57079632679489661923;
  Tensor out = binary_map(op, w, h, [](auto a, auto b) {
    using T = decltype(a);
    if (b != 0) return (T)std::atan(a / b);
    return a > 0 ? (T)kHalfPi : a < 0 ? (T)(-kHalfPi) : T(0);
  });
  Tensor sw = w.detach(), sh = h.detach();
  return record(op, out, {w, h}, [sw, sh, op](const Tensor& g) {
    Tensor r2 = binary_map(op, sw, sh, [](auto a, auto b) { return a * a + b * b; });
    auto safe = [](auto num, auto den) { return den > 0 ? num / den : decltype(num)(0); };
    Tensor dw = binary_map(op, mul(g, sh), r2, safe);
    Tensor dh = binary_map(op, neg(mul(g, sw)), r2, safe);
    return grads({dw, dh});
  });
}

// out = sqrt x;  dx = g / (2 out)
Tensor sqrt(const Tensor& x) {
  DG_HALF_UNARY(sqrt, x);
  Tensor out = unary_map("sqrt", x, [](auto v) { return std::sqrt(v); });
  Tensor so = out.detach();
  return record("sqrt", out, {x}, [so](const Tensor& g) { return grads({div(g, mul(so, 2.0))}); });
}

// out = |x|;  dx = g * sign(x)  (0 at x = 0, as PyTorch)
Tensor abs(const Tensor& x) {
  DG_HALF_UNARY(abs, x);
  Tensor out = unary_map("abs", x, [](auto v) { return std::abs(v); });
  Tensor sx = x.detach();
  return record("abs", out, {x}, [sx](const Tensor& g) { return grads({mul(g, sign(sx))}); });
}

Tensor sign(const Tensor& x) {
  DG_HALF_UNARY(sign, x);
  return unary_map("sign", x, [](auto v) { return decltype(v)((v > 0) - (v < 0)); });
}

// out = min(max(x, lo), hi);  dx = g where lo <= x <= hi, else 0 (bounds inclusive, as PyTorch)
Tensor clamp(const Tensor& x, double lo, double hi) {
  DG_HALF_UNARY(clamp, x, lo, hi);
  const bool has_lo = !std::isnan(lo), has_hi = !std::isnan(hi);
  check(has_lo || has_hi, "clamp: at least one of min and max must be given");
  Tensor out = unary_map("clamp", x, [=](auto v) {
    using T = decltype(v);
    if (v != v) return v;
    if (has_lo && v < (T)lo) v = (T)lo;
    if (has_hi && v > (T)hi) v = (T)hi;
    return v;
  });
  Tensor sx = x.detach();
  return record("clamp", out, {x}, [sx, lo, hi, has_lo, has_hi](const Tensor& g) {
    Tensor mask = unary_map("clamp", sx, [=](auto v) {
      using T = decltype(v);
      return T((!has_lo || v >= (T)lo) && (!has_hi || v <= (T)hi));
    });
    return grads({mul(g, mask)});
  });
}
Tensor clamp_min(const Tensor& x, double lo) { return clamp(x, lo, std::numeric_limits<double>::quiet_NaN()); }
Tensor clamp_max(const Tensor& x, double hi) { return clamp(x, std::numeric_limits<double>::quiet_NaN(), hi); }

// ---- comparisons (no gradient) -------------------------------------------------------------------
Tensor eq(const Tensor& a, const Tensor& b) {
  return compare_map("eq", a, b, [](double x, double y) { return x == y; });
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return compare_map("gt", a, b, [](double x, double y) { return x > y; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare_map("lt", a, b, [](double x, double y) { return x < y; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare_map("ge", a, b, [](double x, double y) { return x >= y; });
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare_map("le", a, b, [](double x, double y) { return x <= y; });
}
Tensor gt(const Tensor& a, double b) { return gt(a, scalar_like(a, b)); }
Tensor lt(const Tensor& a, double b) { return lt(a, scalar_like(a, b)); }
Tensor logical_not(const Tensor& m) {
  check(m.dtype() == DType::b8 || m.dtype() == DType::u8, "logical_not: expected a bool tensor, got ",
        dtype_name(m.dtype()));
  Tensor out = Tensor::empty(m.shape(), DType::b8);
  kernels::map_unary(static_cast<const uint8_t*>(m.raw()), static_cast<uint8_t*>(out.raw()), m.numel(),
                     [](uint8_t v) { return (uint8_t)(v ? 0 : 1); });
  return out;
}

}  // namespace dg
