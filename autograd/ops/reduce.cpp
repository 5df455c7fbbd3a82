// Reductions. Shape legend: x [..] reduced over `dims` -> out (dims removed, or kept as 1 with keepdim).
// Internally x is viewed as [outer, R, inner] (see autograd/kernels/reduce.h); non-adjacent dims are
// first moved to the end by a permute copy.
#include "autograd/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/autocast.h"
#include "autograd/kernels/reduce.h"
#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/shape.h"

namespace dg {
using namespace ops_detail;

namespace {
struct ReducePlan {
  Tensor src;  // x, or a permuted copy with the reduced dims adjacent
  int64_t outer = 1, R = 1, inner = 1;
  Shape out_shape;   // result shape honouring keepdim
  Shape keep_shape;  // result shape with reduced dims kept as 1 (broadcasts against x)
};

ReducePlan make_plan(const char* op, const Tensor& x, const Dims& dims_in, bool keepdim) {
  const int64_t n = x.dim();
  std::vector<bool> red((size_t)n, dims_in.empty());
  for (int64_t d : dims_in) {
    int64_t w = wrap_dim(op, d, x);
    if (n == 0) continue;
    check(!red[(size_t)w], op, ": dim ", d, " appears more than once");
    red[(size_t)w] = true;
  }
  ReducePlan p;
  for (int64_t d = 0; d < n; ++d) {
    p.keep_shape.push_back(red[(size_t)d] ? 1 : x.shape()[(size_t)d]);
    if (!red[(size_t)d] || keepdim) p.out_shape.push_back(p.keep_shape.back());
  }
  int64_t first = -1, last = -1;
  for (int64_t d = 0; d < n; ++d)
    if (red[(size_t)d]) {
      if (first < 0) first = d;
      last = d;
    }
  bool adjacent = true;
  for (int64_t d = first; d >= 0 && d <= last; ++d) adjacent = adjacent && red[(size_t)d];
  if (first < 0) {  // rank 0: nothing to permute, R = 1
    p.src = x;
    p.outer = 1;
    p.R = x.numel();
    p.inner = 1;
    return p;
  }
  if (adjacent) {
    p.src = x;
    for (int64_t d = 0; d < first; ++d) p.outer *= x.shape()[(size_t)d];
    for (int64_t d = first; d <= last; ++d) p.R *= x.shape()[(size_t)d];
    for (int64_t d = last + 1; d < n; ++d) p.inner *= x.shape()[(size_t)d];
    return p;
  }
  Dims order;
  for (int64_t d = 0; d < n; ++d)
    if (!red[(size_t)d]) {
      order.push_back(d);
      p.outer *= x.shape()[(size_t)d];
    }
  for (int64_t d = 0; d < n; ++d)
    if (red[(size_t)d]) {
      order.push_back(d);
      p.R *= x.shape()[(size_t)d];
    }
  NoGradGuard ng;
  p.src = permute(x.detach(), order);
  return p;
}

// g (the result's shape) spread back over x's shape.
Tensor expand_back(const Tensor& g, const ReducePlan& p, const Shape& x_shape) {
  return expand(reshape(g, p.keep_shape), x_shape);
}
}  // namespace

// ---- sum / mean ----------------------------------------------------------------------------------
// out = sum_{dims} x
// dx = g broadcast back over the reduced dims
Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  if (amp::autocast_widens({x})) return sum(amp::autocast_f32(x), dims, keepdim);  // autocast: f32 op
  if (is_half(x.dtype())) return sum(x.to(DType::f32), dims, keepdim).to(x.dtype());
  require_floating("sum", x);
  ReducePlan p = make_plan("sum", x, dims, keepdim);
  Tensor out = Tensor::empty(p.out_shape, x.dtype());
  DG_DISPATCH_FLOAT(x.dtype(), "sum", T, kernels::reduce_sum(p.src.data<T>(), p.outer, p.R, p.inner, out.data<T>()));
  Shape xs = x.shape();
  p.src = Tensor();
  return record("sum", out, {x}, [p, xs](const Tensor& g) { return grads({expand_back(g, p, xs)}); });
}

// out = sum / N  (N = number of reduced elements; N = 0 gives NaN, as PyTorch)
Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  if (amp::autocast_widens({x})) return mean(amp::autocast_f32(x), dims, keepdim);  // autocast: f32 op
  require_floating("mean", x);
  ReducePlan p = make_plan("mean", x, dims, keepdim);
  return mul(sum(x, dims, keepdim), p.R ? 1.0 / (double)p.R : std::numeric_limits<double>::quiet_NaN());
}

// ---- var -----------------------------------------------------------------------------------------
// out = sum (x - m)^2 / (N - correction),  m = mean over dims (two passes, f64 accumulation)
// dx = g * 2 (x - m) / (N - correction)
Tensor var(const Tensor& x, const Dims& dims, double correction, bool keepdim) {
  if (amp::autocast_widens({x})) return var(amp::autocast_f32(x), dims, correction, keepdim);  // autocast: f32 op
  if (is_half(x.dtype())) return var(x.to(DType::f32), dims, correction, keepdim).to(x.dtype());
  require_floating("var", x);
  ReducePlan p = make_plan("var", x, dims, keepdim);
  Tensor m = Tensor::empty(p.keep_shape, x.dtype());
  Tensor out = Tensor::empty(p.out_shape, x.dtype());
  const double denom = std::max(0.0, (double)p.R - correction);  // PyTorch: N - correction <= 0 gives inf/NaN
  DG_DISPATCH_FLOAT(x.dtype(), "var", T, {
    T* pm = m.data<T>();
    kernels::reduce_sum(p.src.data<T>(), p.outer, p.R, p.inner, pm);
    for (int64_t i = 0; i < m.numel(); ++i) pm[i] = (T)((double)pm[i] / (double)p.R);
    kernels::reduce_sq_dev(p.src.data<T>(), pm, p.outer, p.R, p.inner, out.data<T>());
    T* po = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) po[i] = (T)((double)po[i] / denom);
  });
  Tensor sx = x.detach();
  Shape xs = x.shape();
  p.src = Tensor();
  return record("var", out, {x}, [p, sx, m, denom](const Tensor& g) {
    Tensor dev = sub(sx, m);  // broadcasts m over the reduced dims
    return grads({mul(expand_back(g, p, sx.shape()), mul(dev, 2.0 / denom))});
  });
}

// ---- amax / amin ---------------------------------------------------------------------------------
// out = max over dims;  dx = g * [x == out] / (number of ties)
static Tensor extreme(const char* op, const Tensor& x, const Dims& dims, bool keepdim, bool is_max) {
  require_floating(op, x);
  ReducePlan p = make_plan(op, x, dims, keepdim);
  check(p.R > 0, op, ": cannot reduce over an empty dimension (shape ", shape_text(x.shape()), ")");
  Tensor out = Tensor::empty(p.out_shape, x.dtype());
  DG_DISPATCH_FLOAT(x.dtype(), op, T,
    kernels::reduce_arg_extreme(p.src.data<T>(), p.outer, p.R, p.inner, is_max, out.data<T>(), (int64_t*)nullptr));
  Tensor sx = x.detach(), so = out.detach();
  p.src = Tensor();
  return record(op, out, {x}, [p, sx, so](const Tensor& g) {
    Tensor mask = eq(sx, reshape(so, p.keep_shape)).to(sx.dtype());
    // Ties share the gradient: divide by the number of extremes in each reduced group.
    Dims red;
    for (size_t d = 0; d < p.keep_shape.size(); ++d)
      if (p.keep_shape[d] == 1 && sx.shape()[d] != 1) red.push_back((int64_t)d);
    Tensor ties = red.empty() ? ones(p.keep_shape, sx.dtype()) : sum(mask, red, true);
    return grads({mul(expand_back(g, p, sx.shape()), div(mask, ties))});
  });
}
Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) {
  if (is_half(x.dtype())) return amax(x.to(DType::f32), dims, keepdim).to(x.dtype());
  return extreme("amax", x, dims, keepdim, true);
}
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) {
  if (is_half(x.dtype())) return amin(x.to(DType::f32), dims, keepdim).to(x.dtype());
  return extreme("amin", x, dims, keepdim, false);
}

// ---- max / min with indices ----------------------------------------------------------------------
// values = max over dim, indices = first position of the max;  dx = g scattered to those positions
static std::pair<Tensor, Tensor> extreme_dim(const char* op, const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  require_floating(op, x);
  ReducePlan p = make_plan(op, x, {dim}, keepdim);
  check(p.R > 0, op, ": cannot reduce over an empty dimension (shape ", shape_text(x.shape()), ")");
  Tensor values = Tensor::empty(p.out_shape, x.dtype());
  Tensor indices = Tensor::empty(p.out_shape, DType::i64);
  DG_DISPATCH_FLOAT(x.dtype(), op, T,
    kernels::reduce_arg_extreme(p.src.data<T>(), p.outer, p.R, p.inner, is_max, values.data<T>(),
                                indices.data<int64_t>()));
  Shape xs = x.shape();
  DType dt = x.dtype();
  int64_t outer = p.outer, R = p.R, inner = p.inner;
  values = record(op, values, {x}, [indices, xs, dt, outer, R, inner](const Tensor& g) {
    Tensor dx = zeros(xs, dt);
    const int64_t* idx = indices.data<int64_t>();
    DG_DISPATCH_FLOAT(dt, "max", T, {
      const T* pg = g.data<T>();
      T* pd = dx.data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i)
          pd[(o * R + idx[o * inner + i]) * inner + i] = pg[o * inner + i];
    });
    return grads({dx});
  });
  return {values, indices};
}
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  if (is_half(x.dtype())) {
    auto [v, i] = max(x.to(DType::f32), dim, keepdim);
    return {v.to(x.dtype()), i};
  }
  return extreme_dim("max", x, dim, keepdim, true);
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  if (is_half(x.dtype())) {
    auto [v, i] = min(x.to(DType::f32), dim, keepdim);
    return {v.to(x.dtype()), i};
  }
  return extreme_dim("min", x, dim, keepdim, false);
}
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard ng;
  return max(x, dim, keepdim).second;
}

// ---- sum_to --------------------------------------------------------------------------------------
Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const size_t lead = g.shape().size() - shape.size();
  check(g.shape().size() >= shape.size(), "sum_to: cannot reduce ", shape_text(g.shape()), " to ", shape_text(shape));
  Dims red;
  for (size_t d = 0; d < g.shape().size(); ++d)
    if (d < lead || (shape[d - lead] == 1 && g.shape()[d] != 1)) red.push_back((int64_t)d);
  Tensor s = red.empty() ? g : sum(g, red, true);
  return reshape(s, shape);
}

}  // namespace dg
