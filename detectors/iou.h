// The IoU family: IoU, GIoU, DIoU, CIoU, as pairwise matrices (torchvision.ops.box_iou & co.) and as
// element-wise paired values (the form the box losses use). Boxes are xyxy; everything is
// differentiable (composed from engine ops; atan and atan_ratio are autograd/ops/elementwise.h), f32 and f64.
//
//   IoU  = I / U                            I = intersection area, U = union area
//   GIoU = IoU - (C - U) / C                C = area of the smallest enclosing box
//   DIoU = IoU - rho^2 / (c^2 + eps)        rho = distance between centres, c = enclosing diagonal
//   CIoU = DIoU - alpha v                   v = 4/pi^2 (atan(wg/hg) - atan(w/h))^2,
//                                           alpha = v / (1 - IoU + v + eps), a constant (no gradient)
// Epsilons and clamps follow torchvision 1.13 exactly (see docs/detection/iou.md): the matrices use
// clamp(min=0) on the intersection sides and no eps in IoU and GIoU; the paired (loss) forms count
// only strictly positive intersections and divide by U + eps and C + eps.
// Conventions used: pixel_offset (+1 widths), ciou_alpha_gated (alpha = 0 where IoU <= 0.5),
// degenerate_boxes ("nan": torchvision's 0/0; "finite": 0 for a zero union or enclosing area and an
// atan2-like aspect angle).
#pragma once
#include "autograd/tensor.h"
#include "detectors/conventions.h"

namespace dg {

// ---- pairwise: boxes1 [N, 4], boxes2 [M, 4] -> [N, M] ---------------------------------------------
Tensor box_iou(const Tensor& boxes1, const Tensor& boxes2, const Conventions& c = Conventions{});
Tensor generalized_box_iou(const Tensor& boxes1, const Tensor& boxes2, const Conventions& c = Conventions{});
Tensor distance_box_iou(const Tensor& boxes1, const Tensor& boxes2, double eps = 1e-7,
                        const Conventions& c = Conventions{});
Tensor complete_box_iou(const Tensor& boxes1, const Tensor& boxes2, double eps = 1e-7,
                        const Conventions& c = Conventions{});

// ---- paired: boxes1 [..., 4], boxes2 [..., 4] (same shape) -> [...] ------------------------------
enum class IoUKind { iou, giou, diou, ciou };
IoUKind parse_iou_kind(const std::string& s);  // "iou" | "giou" | "diou" | "ciou"

// The terms of torchvision's loss formulas, each [...]. `iou` is I / (U + eps) with I counted only
// where both intersection sides are > 0. `penalty` is (C - U) / (C + eps) for giou and
// rho^2 / (c^2 + eps) for diou/ciou (undefined for iou). `v` is the CIoU aspect term (ciou only).
// `inter` and `uni` are I and U themselves.
struct PairedIoUTerms {
  Tensor inter, uni, iou, penalty, v;
};
PairedIoUTerms paired_iou_terms(IoUKind kind, const Tensor& boxes1, const Tensor& boxes2, double eps = 1e-7,
                                const Conventions& c = Conventions{});
// Throws "<op>: expected boxes1 and boxes2 of one shape [..., 4], got [..] and [..]" (or a dtype error).
void check_paired_boxes(const char* op, const Tensor& boxes1, const Tensor& boxes2);
// IoU, GIoU = iou - penalty, DIoU = iou - penalty, CIoU = iou - penalty - alpha v.
Tensor paired_box_iou(IoUKind kind, const Tensor& boxes1, const Tensor& boxes2, double eps = 1e-7,
                      const Conventions& c = Conventions{});

// CIoU's weight alpha = v / (1 - iou + v + eps), computed without gradient; 0 where iou <= 0.5 when
// c.ciou_alpha_gated.
Tensor ciou_alpha(const Tensor& v, const Tensor& iou, double eps, const Conventions& c = Conventions{});

// The aspect angle atan(w / h). degenerate_boxes "nan": exactly atan(w / h) (NaN at w = h = 0, NaN
// gradient at h = 0, as torchvision). "finite": +-pi/2 at h = 0, 0 at w = h = 0, gradient
// (h, -w) / (w^2 + h^2) and 0 at w = h = 0.
Tensor aspect_angle(const Tensor& w, const Tensor& h, const Conventions& c = Conventions{});

}  // namespace dg
