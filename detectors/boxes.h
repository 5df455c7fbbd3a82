// Boxes: formats, area, clipping. A box tensor has shape [..., 4]; every function here is built from
// differentiable engine ops, so gradients flow through all of them (f32 and f64).
//
// Formats (the names of torchvision.ops.box_convert):
//   xyxy    x1, y1, x2, y2   corners (the format every other detgrad function expects)
//   xywh    x1, y1, w, h     top-left corner and size
//   cxcywh  cx, cy, w, h     centre and size
// Width is x2 - x1 + pixel_offset: 0 in the torchvision/mmdet presets, 1 in "original" (legacy code
// counts the pixels x1..x2 inclusive). See docs/detection/boxes.md and docs/conventions.md.
#pragma once
#include <string>

#include "autograd/tensor.h"
#include "detectors/conventions.h"

namespace dg {

enum class BoxFormat { xyxy, xywh, cxcywh };
BoxFormat parse_box_format(const std::string& s);  // "xyxy" | "xywh" | "cxcywh"; throws otherwise
const char* box_format_name(BoxFormat f);

// The four columns of boxes [..., 4] as tensors of shape [...] (differentiable). `op` names the caller
// in the error for a wrong shape or dtype.
struct BoxCoords {
  Tensor x1, y1, x2, y2;
};
BoxCoords unbind_boxes(const char* op, const Tensor& boxes);
// The inverse: four tensors of one shape [...] -> [..., 4].
Tensor stack_boxes(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& d);

// [..., 4] in format `in` -> [..., 4] in format `out` (a copy when in == out).
Tensor box_convert(const Tensor& boxes, BoxFormat in, BoxFormat out, const Conventions& c = Conventions{});
Tensor box_convert(const Tensor& boxes, const std::string& in, const std::string& out,
                   const Conventions& c = Conventions{});
// xyxy [..., 4] -> [...]: (x2 - x1 + o) * (y2 - y1 + o), o = pixel_offset. Inverted boxes give
// negative areas (not clamped, as torchvision).
Tensor box_area(const Tensor& boxes, const Conventions& c = Conventions{});
// xyxy [..., 4] clamped to x in [0, width - o], y in [0, height - o] (torchvision: [0, W] x [0, H]).
Tensor clip_boxes_to_image(const Tensor& boxes, int64_t height, int64_t width, const Conventions& c = Conventions{});

}  // namespace dg
