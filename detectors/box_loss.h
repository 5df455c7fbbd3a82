// Box regression losses on paired xyxy boxes: boxes1 (predictions) and boxes2 (targets), both
// [..., 4] of one shape; the loss per box is [...], then reduced. All differentiable (composed from
// engine ops and the IoU family of detectors/iou.h), f32 and f64.
//
// Reductions: none ([...]), sum, mean. mean of zero boxes is 0 (as torchvision's box losses), not NaN.
// Formulas (torchvision 1.13, eps = 1e-7 by default; see docs/detection/iou.md):
//   generalized_box_iou_loss = 1 - (IoU - (C - U) / (C + eps)),        IoU = I / (U + eps)
//   distance_box_iou_loss    = 1 - IoU + rho^2 / (c^2 + eps)
//   complete_box_iou_loss    = distance_box_iou_loss + alpha v          (alpha without gradient)
//   iou_loss                 = 1 - IoU (linear) or -log(max(IoU, eps)) (log)
#pragma once
#include "autograd/ops/loss.h"
#include "autograd/tensor.h"
#include "detectors/conventions.h"

namespace dg {

Tensor generalized_box_iou_loss(const Tensor& boxes1, const Tensor& boxes2, Reduction r = Reduction::none,
                                double eps = 1e-7, const Conventions& c = Conventions{});
Tensor distance_box_iou_loss(const Tensor& boxes1, const Tensor& boxes2, Reduction r = Reduction::none,
                             double eps = 1e-7, const Conventions& c = Conventions{});
// As torchvision, `eps` reaches only alpha: the DIoU part always uses 1e-7 (ciou_loss.py calls
// _diou_iou_loss(boxes1, boxes2) without eps). alpha is 0 where IoU <= 0.5 if c.ciou_alpha_gated.
Tensor complete_box_iou_loss(const Tensor& boxes1, const Tensor& boxes2, Reduction r = Reduction::none,
                             double eps = 1e-7, const Conventions& c = Conventions{});

// UnitBox-style IoU loss. With c.iou_loss_plus_one (FCOS's own code) IoU = (I + 1) / (U + 1).
enum class IoULossMode { linear, log };
IoULossMode parse_iou_loss_mode(const std::string& s);  // "linear" | "log"
Tensor iou_loss(const Tensor& boxes1, const Tensor& boxes2, IoULossMode mode = IoULossMode::linear,
                Reduction r = Reduction::none, double eps = 1e-7, const Conventions& c = Conventions{});

// Coordinate losses, summed over the 4 coordinates of each box: sum_k |b1_k - b2_k| and
// sum_k smooth_l1(b1_k - b2_k; beta) (beta = 0 is L1). Any box format; both of one shape [..., 4].
Tensor box_l1_loss(const Tensor& boxes1, const Tensor& boxes2, Reduction r = Reduction::none);
Tensor box_smooth_l1_loss(const Tensor& boxes1, const Tensor& boxes2, double beta, Reduction r = Reduction::none);

// none / sum / mean (0 for an empty loss) of a per-element loss; `op` names the caller in errors.
Tensor reduce_box_loss(const char* op, const Tensor& loss, Reduction r);

}  // namespace dg
