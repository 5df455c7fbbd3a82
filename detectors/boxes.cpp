// Box formats, area and clipping, composed from engine ops (no hand-written backward needed).
// Shapes: boxes [..., 4]; a coordinate column [...]. o = pixel_offset (0 or 1).
#include "detectors/boxes.h"

#include "autograd/ops.h"

namespace dg {

BoxFormat parse_box_format(const std::string& s) {
  if (s == "xyxy") return BoxFormat::xyxy;
  if (s == "xywh") return BoxFormat::xywh;
  if (s == "cxcywh") return BoxFormat::cxcywh;
  fail("box_convert: unknown box format '", s, "' (known: xyxy, xywh, cxcywh)");
}

const char* box_format_name(BoxFormat f) {
  switch (f) {
    case BoxFormat::xyxy: return "xyxy";
    case BoxFormat::xywh: return "xywh";
    case BoxFormat::cxcywh: return "cxcywh";
  }
  return "?";
}

BoxCoords unbind_boxes(const char* op, const Tensor& boxes) {
  check(boxes.defined(), op, ": boxes are undefined");
  check(is_floating(boxes.dtype()), op, ": boxes must be floating-point, got ", dtype_name(boxes.dtype()));
  check(boxes.dim() >= 1 && boxes.size(-1) == 4, op, ": boxes must have shape [..., 4], got ",
        shape_text(boxes.shape()));
  auto col = [&](int64_t k) { return squeeze(narrow(boxes, -1, k, 1), -1); };
  return {col(0), col(1), col(2), col(3)};
}

Tensor stack_boxes(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& d) {
  return stack({a, b, c, d}, -1);
}

// x + o, skipping the op when o == 0 (x + 0 is x exactly; one allocation less).
static Tensor plus(const Tensor& x, double o) { return o == 0.0 ? x : add(x, o); }

// The conversions, as torchvision writes them (every other pair goes through xyxy):
//   xyxy -> xywh:    (x1, y1, x2 - x1 + o, y2 - y1 + o)
//   xywh -> xyxy:    (x, y, x + w - o, y + h - o)
//   xyxy -> cxcywh:  ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1 + o, y2 - y1 + o)
//   cxcywh -> xyxy:  (cx - 0.5 (w - o), cy - 0.5 (h - o), cx + 0.5 (w - o), cy + 0.5 (h - o))
// The centre is (x1 + x2) / 2 for both offsets: the pixels x1..x2 span [x1 - 1/2, x2 + 1/2].
static Tensor to_xyxy(const Tensor& boxes, BoxFormat in, double o) {
  BoxCoords b = unbind_boxes("box_convert", boxes);
  if (in == BoxFormat::xywh) return stack_boxes(b.x1, b.y1, plus(add(b.x1, b.x2), -o), plus(add(b.y1, b.y2), -o));
  // cxcywh: b.x1 = cx, b.y1 = cy, b.x2 = w, b.y2 = h
  Tensor hw = mul(plus(b.x2, -o), 0.5), hh = mul(plus(b.y2, -o), 0.5);
  return stack_boxes(sub(b.x1, hw), sub(b.y1, hh), add(b.x1, hw), add(b.y1, hh));
}

static Tensor from_xyxy(const Tensor& boxes, BoxFormat out, double o) {
  BoxCoords b = unbind_boxes("box_convert", boxes);
  Tensor w = plus(sub(b.x2, b.x1), o), h = plus(sub(b.y2, b.y1), o);
  if (out == BoxFormat::xywh) return stack_boxes(b.x1, b.y1, w, h);
  return stack_boxes(div(add(b.x1, b.x2), 2.0), div(add(b.y1, b.y2), 2.0), w, h);
}

Tensor box_convert(const Tensor& boxes, BoxFormat in, BoxFormat out, const Conventions& c) {
  unbind_boxes("box_convert", boxes);  // shape / dtype check even when in == out
  if (in == out) return boxes.clone();
  Tensor xyxy = in == BoxFormat::xyxy ? boxes : to_xyxy(boxes, in, c.pixel_offset);
  return out == BoxFormat::xyxy ? xyxy : from_xyxy(xyxy, out, c.pixel_offset);
}

Tensor box_convert(const Tensor& boxes, const std::string& in, const std::string& out, const Conventions& c) {
  return box_convert(boxes, parse_box_format(in), parse_box_format(out), c);
}

// area = (x2 - x1 + o) (y2 - y1 + o)
Tensor box_area(const Tensor& boxes, const Conventions& c) {
  BoxCoords b = unbind_boxes("box_area", boxes);
  return mul(plus(sub(b.x2, b.x1), c.pixel_offset), plus(sub(b.y2, b.y1), c.pixel_offset));
}

// x -> clamp(x, 0, W - o), y -> clamp(y, 0, H - o); clamp passes the gradient inside [lo, hi]
// inclusive, as torch.clamp.
Tensor clip_boxes_to_image(const Tensor& boxes, int64_t height, int64_t width, const Conventions& c) {
  check(height >= 0 && width >= 0, "clip_boxes_to_image: size must be non-negative, got (height ", height, ", width ",
        width, ")");
  BoxCoords b = unbind_boxes("clip_boxes_to_image", boxes);
  const double xmax = (double)width - c.pixel_offset, ymax = (double)height - c.pixel_offset;
  check(xmax >= 0 && ymax >= 0, "clip_boxes_to_image: size (", height, ", ", width, ") is empty with pixel_offset ",
        c.pixel_offset);
  return stack_boxes(clamp(b.x1, 0.0, xmax), clamp(b.y1, 0.0, ymax), clamp(b.x2, 0.0, xmax), clamp(b.y2, 0.0, ymax));
}

}  // namespace dg
