// Interpolation. Shape legend: x [N,C,H,W] (a 3-D [N,C,L] input is handled as H = 1) -> out
// [N,C,OH,OW]; N*C independent planes, each resampled by per-axis index tables computed once.
// The tables reproduce PyTorch 1.13's arithmetic bit for bit, including its precision: nearest
// indices are computed in f32 whatever the data type, bilinear weights in the data type.
#include "autograd/ops/interpolate.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/autocast.h"
#include "autograd/kernels/broadcast.h"
#include "autograd/ops/common.h"
#include "autograd/ops/pool.h"
#include "autograd/ops/shape.h"

namespace dg {
using namespace ops_detail;

InterpMode parse_interp_mode(const std::string& s) {
  if (s == "nearest") return InterpMode::nearest;
  if (s == "nearest-exact" || s == "nearest_exact") return InterpMode::nearest_exact;
  if (s == "bilinear") return InterpMode::bilinear;
  if (s == "linear") return InterpMode::linear;
  if (s == "area") return InterpMode::area;
  fail("interpolate: mode must be nearest, nearest-exact, linear, bilinear or area, got '", s, "'");
}
const char* interp_mode_name(InterpMode m) {
  switch (m) {
    case InterpMode::nearest: return "nearest";
    case InterpMode::nearest_exact: return "nearest-exact";
    case InterpMode::linear: return "linear";
    case InterpMode::bilinear: return "bilinear";
    case InterpMode::area: return "area";
  }
  return "?";
}

namespace {
// One spatial axis: input size, output size, and the scale_factor handed to the kernel (PyTorch
// passes it on unless recompute_scale_factor; it then overrides in/out in the coordinate maths).
struct Axis {
  int64_t in = 1, out = 1;
  std::optional<double> scale;
};

// s = 1/scale_factor if one was passed on (and positive), else in/out; in type T.
template <class T>
T dst_to_src_scale(const Axis& a) {
  if (a.scale && *a.scale > 0) return (T)(1.0 / *a.scale);
  return (T)a.in / (T)a.out;
}

// Nearest: src = min(floor(dst * s), in - 1) in f32 (PyTorch computes this index in float even for
// double data). nearest-exact: src = min(floor((dst + 0.5) * s), in - 1), the product taken in double
// then rounded to float before the floor, again as PyTorch.
//
// NOTE [ PyTorch's nearest shortcuts ]
// PyTorch 1.13 has two nearest kernels. The one for channels-last-contiguous inputs (a 4-D input with
// C == 1 qualifies) and the backward kernel map out == in to the identity and out == 2 in to dst / 2;
// the generic forward kernel (every other input) does not. They differ only when a non-integer
// scale_factor lands on those sizes (size 3 * 1.25 -> 3: identity vs 0,0,1). detgrad reproduces both,
// so in exactly those cases the gradient is PyTorch's, not the adjoint of the forward.
std::vector<int64_t> nearest_table(const Axis& a, bool exact, bool shortcuts) {
  std::vector<int64_t> t((size_t)a.out);
  const float s = dst_to_src_scale<float>(a);
  for (int64_t o = 0; o < a.out; ++o) {
    int64_t src;
    if (exact) src = (int64_t)std::floor((float)(((double)o + 0.5) * (double)s));
    else if (shortcuts && a.out == a.in) src = o;
    else if (shortcuts && a.out == 2 * a.in) src = o >> 1;
    else src = (int64_t)std::floor((float)o * s);
    t[(size_t)o] = std::min(src, a.in - 1);
  }
  return t;
}

// Bilinear along one axis: out[o] = l0 x[i0] + l1 x[i1].
//   align_corners:  src = o * (in - 1) / (out - 1)   (0 when out == 1)
//   otherwise:      src = max(0, (o + 0.5) * s - 0.5)
// i0 = floor(src), i1 = min(i0 + 1, in - 1), l1 = clamp(src - i0, 0, 1), l0 = 1 - l1. Equal sizes copy.
template <class T>
struct LinearTable {
  std::vector<int64_t> i0, i1;
  std::vector<T> l0, l1;
};
template <class T>
LinearTable<T> linear_table(const Axis& a, bool align_corners) {
  LinearTable<T> t;
  t.i0.resize((size_t)a.out);
  t.i1.resize((size_t)a.out);
  t.l0.resize((size_t)a.out);
  t.l1.resize((size_t)a.out);
  T s;
  if (align_corners) s = a.out > 1 ? (T)(a.in - 1) / (T)(a.out - 1) : T(0);
  else s = dst_to_src_scale<T>(a);
  for (int64_t o = 0; o < a.out; ++o) {
    const size_t k = (size_t)o;
    if (a.out == a.in) {
      t.i0[k] = t.i1[k] = o;
      t.l0[k] = 1;
      t.l1[k] = 0;
      continue;
    }
    T src = align_corners ? s * (T)o : s * ((T)o + (T)0.5) - (T)0.5;
    if (!align_corners && src < 0) src = 0;
    const int64_t i0 = (int64_t)src;
    t.i0[k] = i0;
    t.i1[k] = i0 + (i0 < a.in - 1 ? 1 : 0);
    t.l1[k] = std::min(std::max(src - (T)i0, T(0)), T(1));
    t.l0[k] = T(1) - t.l1[k];
  }
  return t;
}

struct InterpPlan {
  Axis h, w;
  int64_t planes = 0;
  InterpMode mode = InterpMode::nearest;
  bool align_corners = false;
  bool channels_last_like = false;  // 4-D with C == 1: NOTE [ PyTorch's nearest shortcuts ]
};

// Forward (adjoint = false): out = R x. Backward (adjoint = true): gx += R^T g, scattered plane by
// plane in output order (one thread per plane: deterministic).
template <class T>
void resample(const InterpPlan& p, const T* src, T* dst, bool adjoint) {
  const int64_t H = p.h.in, W = p.w.in, OH = p.h.out, OW = p.w.out;
  const int64_t work = p.planes * (OH * OW + H * W);
  const bool linear = p.mode == InterpMode::bilinear || p.mode == InterpMode::linear;
  if (!linear) {
    const bool exact = p.mode == InterpMode::nearest_exact;
    const std::vector<int64_t> th = nearest_table(p.h, exact, adjoint || p.channels_last_like),
                               tw = nearest_table(p.w, exact, adjoint || p.channels_last_like);
#pragma omp parallel for schedule(static) if (work >= kernels::kParallelMin)
    for (int64_t pl = 0; pl < p.planes; ++pl) {
      const int64_t so = pl * (adjoint ? OH * OW : H * W), d_o = pl * (adjoint ? H * W : OH * OW);
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t i = th[(size_t)oh] * W + tw[(size_t)ow], o = oh * OW + ow;
          if (adjoint) dst[d_o + i] += src[so + o];
          else dst[d_o + o] = src[so + i];
        }
    }
    return;
  }
  const LinearTable<T> th = linear_table<T>(p.h, p.align_corners), tw = linear_table<T>(p.w, p.align_corners);
#pragma omp parallel for schedule(static) if (work >= kernels::kParallelMin)
  for (int64_t pl = 0; pl < p.planes; ++pl) {
    for (int64_t oh = 0; oh < OH; ++oh) {
      const size_t a = (size_t)oh;
      const int64_t r0 = th.i0[a] * W, r1 = th.i1[a] * W;
      const T h0 = th.l0[a], h1 = th.l1[a];
      for (int64_t ow = 0; ow < OW; ++ow) {
        const size_t b = (size_t)ow;
        const int64_t c0 = tw.i0[b], c1 = tw.i1[b];
        const T w0 = tw.l0[b], w1 = tw.l1[b];
        if (adjoint && p.mode == InterpMode::linear) {  // 1-D: H = 1, only the W weights
          T* gx = dst + pl * W;
          const T g = src[pl * OW + ow];
          gx[c0] += w0 * g;
          gx[c1] += w1 * g;
        } else if (adjoint) {
          T* gx = dst + pl * H * W;
          const T g = src[pl * OH * OW + oh * OW + ow];
          gx[r0 + c0] += h0 * w0 * g;
          gx[r0 + c1] += h0 * w1 * g;
          gx[r1 + c0] += h1 * w0 * g;
          gx[r1 + c1] += h1 * w1 * g;
        } else if (p.mode == InterpMode::linear) {  // 1-D: H = 1, only the W weights
          const T* x = src + pl * W;
          dst[pl * OW + ow] = x[c0] * w0 + x[c1] * w1;
        } else {
          const T* x = src + pl * H * W;
          dst[pl * OH * OW + oh * OW + ow] = h0 * (w0 * x[r0 + c0] + w1 * x[r0 + c1]) +
                                             h1 * (w0 * x[r1 + c0] + w1 * x[r1 + c1]);
        }
      }
    }
  }
}

std::string joined(const std::vector<double>& v) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  os << "]";
  return os.str();
}
}  // namespace

// out = R x, R the (sparse) resampling matrix of the mode;  dx = R^T g
Tensor interpolate(const Tensor& x, const InterpolateOptions& opt) {
  if (amp::autocast_widens({x}))
    return interpolate(amp::autocast_f32(x), opt);  // autocast: f32 op (as PyTorch's upsample_*)
  if (is_half(x.dtype())) return interpolate(x.to(DType::f32), opt).to(x.dtype());
  const char* op = "interpolate";
  require_floating(op, x);
  const bool bilinear = opt.mode == InterpMode::bilinear, linear = opt.mode == InterpMode::linear;
  const char* want = bilinear ? "4-D [N,C,H,W]" : linear ? "3-D [N,C,L]" : "3-D [N,C,L] or 4-D [N,C,H,W]";
  check(bilinear ? x.dim() == 4
        : linear ? x.dim() == 3
                 : (x.dim() == 3 || x.dim() == 4),
        op, ": mode ", interp_mode_name(opt.mode), " expects a ", want, " input, got shape ", shape_text(x.shape()));
  check(!opt.align_corners || bilinear || linear, op,
        ": align_corners can only be set with modes linear and bilinear, not ", interp_mode_name(opt.mode));
  check(opt.size.empty() != opt.scale_factor.empty(), op, ": give exactly one of size and scale_factor");
  const int64_t nsp = x.dim() - 2;
  // area always recomputes (F.interpolate): the output size is all it uses
  const bool recompute = opt.recompute_scale_factor.value_or(false) || opt.mode == InterpMode::area;
  check(!(opt.recompute_scale_factor.value_or(false) && !opt.size.empty()), op,
        ": recompute_scale_factor is not meaningful with an explicit size");
  InterpPlan p;
  p.mode = opt.mode;
  p.align_corners = opt.align_corners.value_or(false);
  std::vector<Axis> axes((size_t)nsp);
  for (int64_t d = 0; d < nsp; ++d) {
    Axis& a = axes[(size_t)d];
    a.in = x.size(2 + d);
    if (!opt.size.empty()) {
      check(opt.size.size() == 1 || (int64_t)opt.size.size() == nsp, op, ": size ", shape_text(opt.size),
            " must have 1 or ", nsp, " values for input ", shape_text(x.shape()));
      a.out = opt.size.size() == 1 ? opt.size[0] : opt.size[(size_t)d];
    } else {
      check(opt.scale_factor.size() == 1 || (int64_t)opt.scale_factor.size() == nsp, op, ": scale_factor ",
            joined(opt.scale_factor), " must have 1 or ", nsp, " values for input ", shape_text(x.shape()));
      const double sf = opt.scale_factor.size() == 1 ? opt.scale_factor[0] : opt.scale_factor[(size_t)d];
      check(sf > 0 && std::isfinite(sf), op, ": scale_factor must be positive, got ", joined(opt.scale_factor));
      a.out = (int64_t)std::floor((double)a.in * sf);
      if (!recompute) a.scale = sf;
    }
    check(a.in > 0 && (a.out > 0 || opt.mode == InterpMode::area), op, ": input ", shape_text(x.shape()),
          " gives an empty output size ", a.out, " in spatial dim ", d);
  }
  if (nsp == 1) {
    p.h = Axis{1, 1, std::nullopt};
    p.w = axes[0];
  } else {
    p.h = axes[0];
    p.w = axes[1];
  }
  if (opt.mode == InterpMode::area) {  // area = adaptive average pooling to the output size
    if (nsp == 2) return adaptive_avg_pool2d(x, {p.h.out, p.w.out});
    Tensor y = adaptive_avg_pool2d(unsqueeze(x, 2), {1, p.w.out});
    return squeeze(y, 2);
  }
  p.planes = x.size(0) * x.size(1);
  p.channels_last_like = nsp == 2 && (x.size(1) == 1 || p.h.in * p.w.in == 1);
  Shape out_shape = x.shape();
  out_shape.back() = p.w.out;
  if (nsp == 2) out_shape[2] = p.h.out;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  DG_DISPATCH_FLOAT(x.dtype(), op, T, resample<T>(p, x.data<T>(), out.data<T>(), false));
  Shape xs = x.shape();
  return record(op, out, {x}, [p, xs](const Tensor& g) {
    Tensor dx = zeros(xs, g.dtype());
    DG_DISPATCH_FLOAT(g.dtype(), "interpolate", T, resample<T>(p, g.data<T>(), dx.data<T>(), true));
    return grads({dx});
  });
}

}  // namespace dg
