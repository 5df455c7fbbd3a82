// Pooling ops. Shape legend: x [N,C,H,W] (or [C,H,W], handled as N = 1) -> out [N,C,OH,OW]; the
// kernels (autograd/kernels/pool.h) see N*C independent planes. Output sizes: docs/pool.md.
#include "autograd/ops/pool.h"

#include "autograd/kernels/pool.h"
#include "autograd/ops/common.h"

namespace dg {
using namespace ops_detail;

namespace {
// {k} -> {k, k}; {kh, kw} stays.
Size2 two(const char* op, const char* what, const Size2& v) {
  check(v.size() == 1 || v.size() == 2, op, ": ", what, " must have 1 or 2 values, got ", shape_text(v));
  return v.size() == 1 ? Size2{v[0], v[0]} : v;
}

void check_input(const char* op, const Tensor& x) {
  require_floating(op, x);
  check(x.dim() == 3 || x.dim() == 4, op, ": expected a 3-D [C,H,W] or 4-D [N,C,H,W] input, got shape ",
        shape_text(x.shape()));
  check(x.size(-1) > 0 && x.size(-2) > 0 && x.size(-3) > 0, op, ": input of shape ", shape_text(x.shape()),
        " has an empty channel or spatial dimension");
}

struct PoolPlan {
  kernels::Pool2dGeom g;
  int64_t planes = 0;
  Shape out_shape;
};

// Validates the arguments as PyTorch does and computes the output size (kernels::pool_output_size).
PoolPlan plan_pool(const char* op, const Tensor& x, const Size2& kernel_size, const Size2& stride_in,
                   const Size2& padding, const Size2& dilation, bool ceil_mode) {
  check_input(op, x);
  const Size2 k = two(op, "kernel_size", kernel_size);
  const Size2 s = stride_in.empty() ? k : two(op, "stride", stride_in);
  const Size2 p = two(op, "padding", padding), d = two(op, "dilation", dilation);
  check(k[0] > 0 && k[1] > 0, op, ": kernel_size must be positive, got ", shape_text(k));
  check(s[0] > 0 && s[1] > 0, op, ": stride must be positive, got ", shape_text(s));
  check(d[0] > 0 && d[1] > 0, op, ": dilation must be positive, got ", shape_text(d));
  check(p[0] >= 0 && p[1] >= 0 && p[0] <= k[0] / 2 && p[1] <= k[1] / 2, op, ": padding ", shape_text(p),
        " must be between 0 and half of kernel_size ", shape_text(k));
  PoolPlan r;
  kernels::Pool2dGeom& g = r.g;
  g.H = x.size(-2);
  g.W = x.size(-1);
  g.kh = k[0];
  g.kw = k[1];
  g.sh = s[0];
  g.sw = s[1];
  g.ph = p[0];
  g.pw = p[1];
  g.dh = d[0];
  g.dw = d[1];
  g.OH = kernels::pool_output_size(g.H, g.kh, g.ph, g.sh, g.dh, ceil_mode);
  g.OW = kernels::pool_output_size(g.W, g.kw, g.pw, g.sw, g.dw, ceil_mode);
  check(g.OH > 0 && g.OW > 0, op, ": input ", shape_text(x.shape()), " with kernel_size ", shape_text(k), ", stride ",
        shape_text(s), ", padding ", shape_text(p), ", dilation ", shape_text(d), " gives an empty output (", g.OH, "x",
        g.OW, ")");
  r.planes = x.numel() / (g.H * g.W);
  r.out_shape = x.shape();
  r.out_shape[r.out_shape.size() - 2] = g.OH;
  r.out_shape[r.out_shape.size() - 1] = g.OW;
  return r;
}
}  // namespace

// ---- max_pool2d ----------------------------------------------------------------------------------
// out[n,c,oh,ow] = max over the window;  idx = where it was
// dx[n,c,idx] += g[n,c,oh,ow]  (overlapping windows accumulate)
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Size2& kernel_size, const Size2& stride,
                                                  const Size2& padding, const Size2& dilation, bool ceil_mode) {
  if (is_half(x.dtype())) {
    auto [v, i] = max_pool2d_with_indices(x.to(DType::f32), kernel_size, stride, padding, dilation, ceil_mode);
    return {v.to(x.dtype()), i};
  }
  const PoolPlan pl = plan_pool("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode);
  Tensor out = Tensor::empty(pl.out_shape, x.dtype());
  Tensor idx = Tensor::empty(pl.out_shape, DType::i64);
  DG_DISPATCH_FLOAT(x.dtype(), "max_pool2d", T,
    kernels::max_pool2d_forward(x.data<T>(), out.data<T>(), idx.data<int64_t>(), pl.planes, pl.g));
  Shape xs = x.shape();
  out = record("max_pool2d", out, {x}, [pl, idx, xs](const Tensor& g) {
    Tensor dx = zeros(xs, g.dtype());
    DG_DISPATCH_FLOAT(g.dtype(), "max_pool2d", T,
      kernels::max_pool2d_backward(g.data<T>(), idx.data<int64_t>(), dx.data<T>(), pl.planes, pl.g));
    return grads({dx});
  });
  return {out, idx};
}

Tensor max_pool2d(const Tensor& x, const Size2& kernel_size, const Size2& stride, const Size2& padding,
                  const Size2& dilation, bool ceil_mode) {
  return max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode).first;
}

// ---- avg_pool2d ----------------------------------------------------------------------------------
// out[n,c,oh,ow] = sum over the window / divisor
// dx[n,c,ih,iw] += g[n,c,oh,ow] / divisor for every (ih, iw) of the window inside the input
Tensor avg_pool2d(const Tensor& x, const Size2& kernel_size, const Size2& stride, const Size2& padding, bool ceil_mode,
                  bool count_include_pad, int64_t divisor_override) {
  if (is_half(x.dtype()))
    return avg_pool2d(x.to(DType::f32), kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        .to(x.dtype());
  check(divisor_override >= 0, "avg_pool2d: divisor_override must be positive (or 0 for none), got ", divisor_override);
  const PoolPlan pl = plan_pool("avg_pool2d", x, kernel_size, stride, padding, {1}, ceil_mode);
  Tensor out = Tensor::empty(pl.out_shape, x.dtype());
  DG_DISPATCH_FLOAT(x.dtype(), "avg_pool2d", T,
    kernels::avg_pool2d_forward(x.data<T>(), out.data<T>(), pl.planes, pl.g, count_include_pad, divisor_override));
  Shape xs = x.shape();
  return record("avg_pool2d", out, {x}, [pl, xs, count_include_pad, divisor_override](const Tensor& g) {
    Tensor dx = zeros(xs, g.dtype());
    DG_DISPATCH_FLOAT(g.dtype(), "avg_pool2d", T,
      kernels::avg_pool2d_backward(g.data<T>(), dx.data<T>(), pl.planes, pl.g, count_include_pad, divisor_override));
    return grads({dx});
  });
}

// ---- adaptive_avg_pool2d -------------------------------------------------------------------------
// out[n,c,i,j] = mean of x[n,c, floor(iH/OH) : ceil((i+1)H/OH), floor(jW/OW) : ceil((j+1)W/OW)]
// dx[n,c,ih,iw] += g[n,c,i,j] / window size, for every window containing (ih, iw)
Tensor adaptive_avg_pool2d(const Tensor& x, const Size2& output_size) {
  if (is_half(x.dtype())) return adaptive_avg_pool2d(x.to(DType::f32), output_size).to(x.dtype());
  check_input("adaptive_avg_pool2d", x);
  Size2 os = two("adaptive_avg_pool2d", "output_size", output_size);
  const int64_t H = x.size(-2), W = x.size(-1);
  if (os[0] == -1) os[0] = H;
  if (os[1] == -1) os[1] = W;
  check(os[0] >= 0 && os[1] >= 0, "adaptive_avg_pool2d: output_size must be non-negative (or -1 to keep a dim), got ",
        shape_text(output_size));
  const int64_t OH = os[0], OW = os[1], planes = x.numel() / (H * W);
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 2] = OH;
  out_shape[out_shape.size() - 1] = OW;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  DG_DISPATCH_FLOAT(x.dtype(), "adaptive_avg_pool2d", T,
    kernels::adaptive_avg_pool2d_forward(x.data<T>(), out.data<T>(), planes, H, W, OH, OW));
  Shape xs = x.shape();
  return record("adaptive_avg_pool2d", out, {x}, [xs, planes, H, W, OH, OW](const Tensor& g) {
    Tensor dx = zeros(xs, g.dtype());
    DG_DISPATCH_FLOAT(g.dtype(), "adaptive_avg_pool2d", T,
      kernels::adaptive_avg_pool2d_backward(g.data<T>(), dx.data<T>(), planes, H, W, OH, OW));
    return grads({dx});
  });
}

}  // namespace dg
