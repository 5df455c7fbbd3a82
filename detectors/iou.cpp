// The IoU family, pairwise (matrices) and paired (element-wise). Formulas and epsilons follow
// torchvision 1.13's ops/boxes.py (matrices) and ops/{giou,diou,ciou}_loss.py (paired) term by term,
// in the same order, so f64 results agree to rounding. Shapes: pairwise coordinates are [N, 1]
// against [M] (broadcast to [N, M]); paired coordinates are [...] against [...].
#include "detectors/iou.h"

#include <cmath>
#include <vector>

#include "autograd/kernels/broadcast.h"
#include "autograd/ops.h"
#include "detectors/boxes.h"

namespace dg {

// Both box sets floating and of one dtype.
static void require_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  check(a.dtype() == b.dtype(), op, ": dtype mismatch: ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  check(is_floating(a.dtype()), op, ": expected floating-point operands, got ", dtype_name(a.dtype()));
}

// Calls f(T()) with T = float for f32 and double for f64 (the caller has checked dt is one of them).
template <class F>
static void with_float_type(DType dt, F f) {
  if (dt == DType::f32) f(float());
  else f(double());
}

void check_paired_boxes(const char* op, const Tensor& boxes1, const Tensor& boxes2) {
  check(boxes1.defined() && boxes2.defined(), op, ": boxes are undefined");
  check(boxes1.shape() == boxes2.shape() && boxes1.dim() >= 1 && boxes1.size(-1) == 4, op,
        ": expected boxes1 and boxes2 of one shape [..., 4], got ", shape_text(boxes1.shape()), " and ",
        shape_text(boxes2.shape()));
  require_same_dtype(op, boxes1, boxes2);
}

namespace {

constexpr double kPi = 3.14159265358979323846;

// x + o, skipping the op when o == 0.
Tensor plus(const Tensor& x, double o) { return o == 0.0 ? x : add(x, o); }

bool finite_mode(const Conventions& c) {
  check(c.degenerate_boxes == "nan" || c.degenerate_boxes == "finite", "conventions: degenerate_boxes='",
        c.degenerate_boxes, "' is not one of nan|finite");
  return c.degenerate_boxes == "finite";
}

// num / den, or 0 where den <= 0 ("finite") / the raw quotient ("nan"). The finite form divides by a
// safe denominator so that the unused branch of `where` carries no NaN into the backward pass. A NaN
// den is not <= 0: NaN inputs still give NaN.
Tensor div_or_zero(const Tensor& num, const Tensor& den, bool finite) {
  if (!finite) return div(num, den);
  Tensor empty = le(den.detach(), scalar_tensor(0.0, den.dtype()));
  Tensor safe = where(empty, ones_like(den.detach()), den);
  return where(empty, zeros_like(num.detach()), div(num, safe));
}

// Element-wise AND of two bool masks of one shape.
Tensor mask_and(const Tensor& a, const Tensor& b) {
  Tensor out = Tensor::empty(a.shape(), DType::b8);
  const uint8_t* pa = static_cast<const uint8_t*>(a.raw());
  const uint8_t* pb = static_cast<const uint8_t*>(b.raw());
  uint8_t* po = static_cast<uint8_t*>(out.raw());
  for (int64_t i = 0; i < a.numel(); ++i) po[i] = (uint8_t)(pa[i] && pb[i]);
  return out;
}

// Coordinates of two box sets, ready to broadcast against each other.
struct Pair {
  BoxCoords a, b;
};

void check_pairwise(const char* op, const Tensor& boxes1, const Tensor& boxes2) {
  check(boxes1.defined() && boxes2.defined(), op, ": boxes are undefined");
  check(boxes1.dim() == 2 && boxes1.size(1) == 4 && boxes2.dim() == 2 && boxes2.size(1) == 4, op,
        ": expected boxes1 [N, 4] and boxes2 [M, 4], got ", shape_text(boxes1.shape()), " and ",
        shape_text(boxes2.shape()));
  require_same_dtype(op, boxes1, boxes2);
}

Pair pairwise_coords(const char* op, const Tensor& boxes1, const Tensor& boxes2) {
  check_pairwise(op, boxes1, boxes2);
  BoxCoords a = unbind_boxes(op, boxes1), b = unbind_boxes(op, boxes2);
  a = {unsqueeze(a.x1, 1), unsqueeze(a.y1, 1), unsqueeze(a.x2, 1), unsqueeze(a.y2, 1)};  // [N, 1]
  return {a, b};
}

Pair paired_coords(const char* op, const Tensor& boxes1, const Tensor& boxes2) {
  check_paired_boxes(op, boxes1, boxes2);
  return {unbind_boxes(op, boxes1), unbind_boxes(op, boxes2)};
}

// The smallest enclosing box's width and height (not clamped): max(x2) - min(x1) + o, ...
std::pair<Tensor, Tensor> enclosing_wh(const Pair& p, double o) {
  Tensor w = plus(sub(maximum(p.a.x2, p.b.x2), minimum(p.a.x1, p.b.x1)), o);
  Tensor h = plus(sub(maximum(p.a.y2, p.b.y2), minimum(p.a.y1, p.b.y1)), o);
  return {w, h};
}

// Squared distance between the centres: ((x1+x2)/2 - (x1g+x2g)/2)^2 + (same for y)^2.
Tensor centre_distance2(const Pair& p) {
  Tensor dx = sub(div(add(p.a.x1, p.a.x2), 2.0), div(add(p.b.x1, p.b.x2), 2.0));
  Tensor dy = sub(div(add(p.a.y1, p.a.y2), 2.0), div(add(p.b.y1, p.b.y2), 2.0));
  return add(pow(dx, 2.0), pow(dy, 2.0));
}

// v = 4/pi^2 (atan(w1/h1) - atan(w2/h2))^2
Tensor aspect_term(const Pair& p, double o, const Conventions& c) {
  Tensor a1 = aspect_angle(plus(sub(p.a.x2, p.a.x1), o), plus(sub(p.a.y2, p.a.y1), o), c);
  Tensor a2 = aspect_angle(plus(sub(p.b.x2, p.b.x1), o), plus(sub(p.b.y2, p.b.y1), o), c);
  return mul(pow(sub(a1, a2), 2.0), 4.0 / (kPi * kPi));
}

// ---- matrices: torchvision's _box_inter_union and box_iou ------------------------------------------
// I = clamp(min(x2) - max(x1) + o, 0) * clamp(min(y2) - max(y1) + o, 0);  U = A1 + A2 - I
std::pair<Tensor, Tensor> matrix_inter_union(const Pair& p, double o) {
  Tensor area1 = mul(plus(sub(p.a.x2, p.a.x1), o), plus(sub(p.a.y2, p.a.y1), o));
  Tensor area2 = mul(plus(sub(p.b.x2, p.b.x1), o), plus(sub(p.b.y2, p.b.y1), o));
  Tensor w = clamp_min(plus(sub(minimum(p.a.x2, p.b.x2), maximum(p.a.x1, p.b.x1)), o), 0.0);
  Tensor h = clamp_min(plus(sub(minimum(p.a.y2, p.b.y2), maximum(p.a.y1, p.b.y1)), o), 0.0);
  Tensor inter = mul(w, h);
  return {inter, sub(add(area1, area2), inter)};
}

// IoU = I / U (no eps)
Tensor matrix_iou(const Pair& p, const Conventions& c) {
  auto [inter, uni] = matrix_inter_union(p, c.pixel_offset);
  return div_or_zero(inter, uni, finite_mode(c));
}

// DIoU matrix: IoU - rho^2 / (w_c^2 + h_c^2 + eps) with the enclosing sides clamped at 0.
Tensor matrix_diou(const Pair& p, const Tensor& iou, double eps, const Conventions& c) {
  auto [cw, ch] = enclosing_wh(p, c.pixel_offset);
  Tensor diag2 = add(add(pow(clamp_min(cw, 0.0), 2.0), pow(clamp_min(ch, 0.0), 2.0)), eps);
  return sub(iou, div(centre_distance2(p), diag2));
}

}  // namespace

// ---- the aspect angle ------------------------------------------------------------------------------
// "nan": atan(w / h) composed (NaN at w = h = 0); "finite": atan_ratio (autograd/ops/elementwise.h),
// which is +-pi/2 at h = 0 and 0 at w = h = 0 with finite gradients.
Tensor aspect_angle(const Tensor& w, const Tensor& h, const Conventions& c) {
  return finite_mode(c) ? atan_ratio(w, h) : atan(div(w, h));
}

Tensor ciou_alpha(const Tensor& v, const Tensor& iou, double eps, const Conventions& c) {
  NoGradGuard no_grad;  // alpha is a constant weight (torchvision: torch.no_grad())
  Tensor vd = v.detach(), id = iou.detach();
  // alpha = v / (1 - IoU + v + eps)
  Tensor alpha = div(vd, add(add(sub(ones_like(id), id), vd), eps));
  if (c.ciou_alpha_gated) alpha = where(gt(id, 0.5), alpha, zeros_like(alpha));
  return alpha;
}

// ---- pairwise matrices -------------------------------------------------------------------------------
// NOTE [ box_iou fast path ]
// Matching and NMS call box_iou on thousands of anchors without needing a gradient. The composed
// form allocates ~15 [N, M] temporaries; this loop computes the same operations in the same order
// and precision per element (so the bits are identical, tested), vectorised over boxes2. It runs for
// f32/f64 when no input needs a gradient and every coordinate is finite (NaN/inf inputs take the
// composed path, whose maximum/minimum propagate NaN; plain x > y ? x : y would not).
template <class T, bool kOffset, bool kFinite>
static void box_iou_kernel(const T* a, int64_t N, const T* b, int64_t M, T o, T* out) {
  // boxes2 as columns (structure of arrays) with their areas.
  std::vector<T> x1(M), y1(M), x2(M), y2(M), area2(M);
  for (int64_t j = 0; j < M; ++j) {
    x1[j] = b[4 * j], y1[j] = b[4 * j + 1], x2[j] = b[4 * j + 2], y2[j] = b[4 * j + 3];
    area2[j] = kOffset ? T(T(x2[j] - x1[j]) + o) * T(T(y2[j] - y1[j]) + o) : T(x2[j] - x1[j]) * T(y2[j] - y1[j]);
  }
#pragma omp parallel for schedule(static) if (N * M >= kernels::kParallelMin)
  for (int64_t i = 0; i < N; ++i) {
    const T* p = a + 4 * i;
    const T area1 = kOffset ? T(T(p[2] - p[0]) + o) * T(T(p[3] - p[1]) + o) : T(p[2] - p[0]) * T(p[3] - p[1]);
    const T ax1 = p[0], ay1 = p[1], ax2 = p[2], ay2 = p[3];
    T* row = out + i * M;
    for (int64_t j = 0; j < M; ++j) {
      T w = (ax2 < x2[j] ? ax2 : x2[j]) - (ax1 > x1[j] ? ax1 : x1[j]);
      T h = (ay2 < y2[j] ? ay2 : y2[j]) - (ay1 > y1[j] ? ay1 : y1[j]);
      if (kOffset) w = w + o, h = h + o;
      w = w < T(0) ? T(0) : w;
      h = h < T(0) ? T(0) : h;
      const T inter = w * h;
      const T uni = (area1 + area2[j]) - inter;
      if (kFinite) {
        const T safe = uni <= T(0) ? T(1) : uni;  // as div_or_zero: 0 where U <= 0
        row[j] = uni <= T(0) ? T(0) : inter / safe;
      } else {
        row[j] = inter / uni;
      }
    }
  }
}

template <class T>
static bool all_finite(const Tensor& t) {
  const T* p = t.data<T>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

Tensor box_iou(const Tensor& boxes1, const Tensor& boxes2, const Conventions& c) {
  check_pairwise("box_iou", boxes1, boxes2);
  const DType dt = boxes1.dtype();
  bool fast = !needs_grad({&boxes1, &boxes2}) && (dt == DType::f32 || dt == DType::f64);
  if (fast)
    with_float_type(dt, [&](auto z) {
      using T = decltype(z);
      fast = all_finite<T>(boxes1) && all_finite<T>(boxes2);
    });
  if (!fast) return matrix_iou(pairwise_coords("box_iou", boxes1, boxes2), c);
  const bool finite = finite_mode(c), offset = c.pixel_offset != 0.0;
  const int64_t N = boxes1.size(0), M = boxes2.size(0);
  Tensor out = Tensor::empty({N, M}, dt);
  with_float_type(dt, [&](auto z) {
    using T = decltype(z);
    const T* a = boxes1.data<T>();
    const T* b = boxes2.data<T>();
    const T o = (T)c.pixel_offset;
    T* r = out.data<T>();
    if (offset)
      finite ? box_iou_kernel<T, true, true>(a, N, b, M, o, r) : box_iou_kernel<T, true, false>(a, N, b, M, o, r);
    else finite ? box_iou_kernel<T, false, true>(a, N, b, M, o, r) : box_iou_kernel<T, false, false>(a, N, b, M, o, r);
  });
  return out;
}

// GIoU = IoU - (C - U) / C, C = clamp(w_c, 0) clamp(h_c, 0); no eps (torchvision).
Tensor generalized_box_iou(const Tensor& boxes1, const Tensor& boxes2, const Conventions& c) {
  Pair p = pairwise_coords("generalized_box_iou", boxes1, boxes2);
  const double o = c.pixel_offset;
  auto [inter, uni] = matrix_inter_union(p, o);
  const bool finite = finite_mode(c);
  Tensor iou = div_or_zero(inter, uni, finite);
  auto [cw, ch] = enclosing_wh(p, o);
  Tensor area_c = mul(clamp_min(cw, 0.0), clamp_min(ch, 0.0));
  return sub(iou, div_or_zero(sub(area_c, uni), area_c, finite));
}

Tensor distance_box_iou(const Tensor& boxes1, const Tensor& boxes2, double eps, const Conventions& c) {
  Pair p = pairwise_coords("distance_box_iou", boxes1, boxes2);
  return matrix_diou(p, matrix_iou(p, c), eps, c);
}

// CIoU = DIoU - alpha v, alpha from the matrix IoU (no eps in it).
Tensor complete_box_iou(const Tensor& boxes1, const Tensor& boxes2, double eps, const Conventions& c) {
  Pair p = pairwise_coords("complete_box_iou", boxes1, boxes2);
  Tensor iou = matrix_iou(p, c);
  Tensor diou = matrix_diou(p, iou, eps, c);
  Tensor v = aspect_term(p, c.pixel_offset, c);
  return sub(diou, mul(ciou_alpha(v, iou, eps, c), v));
}

// ---- paired (the loss forms) -------------------------------------------------------------------------
IoUKind parse_iou_kind(const std::string& s) {
  if (s == "iou") return IoUKind::iou;
  if (s == "giou") return IoUKind::giou;
  if (s == "diou") return IoUKind::diou;
  if (s == "ciou") return IoUKind::ciou;
  fail("iou: unknown kind '", s, "' (known: iou, giou, diou, ciou)");
}

// torchvision's _loss_inter_union: I = (min x2 - max x1 + o)(min y2 - max y1 + o) where both sides
// are > 0, else 0 (no gradient there);  U = A1 + A2 - I;  iou = I / (U + eps).
// giou:      penalty = (C - U) / (C + eps),        C = w_c h_c (not clamped)
// diou/ciou: penalty = rho^2 / (w_c^2 + h_c^2 + eps)
PairedIoUTerms paired_iou_terms(IoUKind kind, const Tensor& boxes1, const Tensor& boxes2, double eps,
                                const Conventions& c) {
  Pair p = paired_coords("paired_box_iou", boxes1, boxes2);
  const double o = c.pixel_offset;
  Tensor iw = plus(sub(minimum(p.a.x2, p.b.x2), maximum(p.a.x1, p.b.x1)), o);
  Tensor ih = plus(sub(minimum(p.a.y2, p.b.y2), maximum(p.a.y1, p.b.y1)), o);
  Tensor overlap = mask_and(gt(ih.detach(), 0.0), gt(iw.detach(), 0.0));
  Tensor inter = where(overlap, mul(iw, ih), zeros_like(iw.detach()));
  Tensor area1 = mul(plus(sub(p.a.x2, p.a.x1), o), plus(sub(p.a.y2, p.a.y1), o));
  Tensor area2 = mul(plus(sub(p.b.x2, p.b.x1), o), plus(sub(p.b.y2, p.b.y1), o));
  Tensor uni = sub(add(area1, area2), inter);
  PairedIoUTerms t;
  t.inter = inter;
  t.uni = uni;
  t.iou = div(inter, add(uni, eps));
  if (kind == IoUKind::iou) return t;
  auto [cw, ch] = enclosing_wh(p, o);
  if (kind == IoUKind::giou) {
    Tensor area_c = mul(cw, ch);
    t.penalty = div(sub(area_c, uni), add(area_c, eps));
    return t;
  }
  Tensor diag2 = add(add(pow(cw, 2.0), pow(ch, 2.0)), eps);
  t.penalty = div(centre_distance2(p), diag2);
  if (kind == IoUKind::ciou) t.v = aspect_term(p, o, c);
  return t;
}

Tensor paired_box_iou(IoUKind kind, const Tensor& boxes1, const Tensor& boxes2, double eps, const Conventions& c) {
  PairedIoUTerms t = paired_iou_terms(kind, boxes1, boxes2, eps, c);
  if (kind == IoUKind::iou) return t.iou;
  Tensor r = sub(t.iou, t.penalty);
  if (kind == IoUKind::ciou) r = sub(r, mul(ciou_alpha(t.v, t.iou, eps, c), t.v));
  return r;
}

}  // namespace dg
