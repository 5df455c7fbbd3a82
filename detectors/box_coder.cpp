// The box coder (see coder.h), written with autograd ops in torchvision's order of operations, so f32
// results agree with torchvision's to the last bit or two and gradients come for free.
// Legend: N boxes; a* anchor, g* ground truth, columns x1,y1,x2,y2 -> [N,1] each.
#include "detectors/box_coder.h"

#include "autograd/ops.h"

namespace dg {

namespace {
Tensor col(const Tensor& t, int64_t k) { return narrow(t, 1, k, 1); }  // [N,4] -> [N,1]

void check_pair(const char* op, const char* name_a, const Tensor& a, const Tensor& anchors) {
  check(a.defined() && anchors.defined(), op, ": inputs must be defined");
  check(a.dim() == 2 && a.size(1) == 4 && anchors.shape() == a.shape(), op, ": ", name_a,
        " and anchors must both be [N,4], got ", shape_text(a.shape()), " and ", shape_text(anchors.shape()));
  check(a.dtype() == anchors.dtype() && (a.dtype() == DType::f32 || a.dtype() == DType::f64), op, ": ", name_a,
        " and anchors must both be f32 or both f64, got ", dtype_name(a.dtype()), " and ", dtype_name(anchors.dtype()));
}

// Width, height and centre of [N,4] boxes, each [N,1]: w = x2 - x1, cx = x1 + 0.5 w (torchvision's form).
struct Geometry {
  Tensor w, h, cx, cy;
  explicit Geometry(const Tensor& b) {
    w = sub(col(b, 2), col(b, 0));
    h = sub(col(b, 3), col(b, 1));
    cx = add(col(b, 0), mul(w, 0.5));
    cy = add(col(b, 1), mul(h, 0.5));
  }
};
}  // namespace

Tensor box_encode(const Tensor& boxes, const Tensor& anchors, const BoxCoderOptions& opt) {
  check_pair("box_encode", "boxes", boxes, anchors);
  for (int64_t i = 0; i < boxes.size(0); ++i) {
    const bool ok = boxes.at(4 * i + 2) > boxes.at(4 * i) && boxes.at(4 * i + 3) > boxes.at(4 * i + 1) &&
                    anchors.at(4 * i + 2) > anchors.at(4 * i) && anchors.at(4 * i + 3) > anchors.at(4 * i + 1);
    check(ok, "box_encode: row ", i,
          " has a box or anchor with width or height <= 0 (log of a non-positive ratio); boxes ",
          shape_text(boxes.shape()));
  }
  const Geometry a(anchors), g(boxes);
  // dx = wx (gx - ax) / aw ; dw = ww log(gw / aw)   (the same for y, h)
  Tensor dx = div(mul(sub(g.cx, a.cx), opt.wx), a.w);
  Tensor dy = div(mul(sub(g.cy, a.cy), opt.wy), a.h);
  Tensor dw = mul(log(div(g.w, a.w)), opt.ww);
  Tensor dh = mul(log(div(g.h, a.h)), opt.wh);
  return cat({dx, dy, dw, dh}, 1);
}

Tensor box_decode(const Tensor& deltas, const Tensor& anchors, const BoxCoderOptions& opt) {
  check_pair("box_decode", "deltas", deltas, anchors);
  const Geometry a(anchors);
  Tensor dx = div(col(deltas, 0), opt.wx), dy = div(col(deltas, 1), opt.wy);
  // The clamp keeps exp() finite for wild early predictions: at most 1000/16 = 62.5 times the anchor.
  Tensor dw = clamp_max(div(col(deltas, 2), opt.ww), opt.clip);
  Tensor dh = clamp_max(div(col(deltas, 3), opt.wh), opt.clip);
  Tensor cx = add(mul(dx, a.w), a.cx), cy = add(mul(dy, a.h), a.cy);
  Tensor half_w = mul(mul(exp(dw), a.w), 0.5), half_h = mul(mul(exp(dh), a.h), 0.5);
  return cat({sub(cx, half_w), sub(cy, half_h), add(cx, half_w), add(cy, half_h)}, 1);
}

}  // namespace dg
