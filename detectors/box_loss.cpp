// Box regression losses. Each is written as torchvision writes it, term by term, so that f64 values
// and gradients agree with torchvision.ops to rounding. Shapes: boxes [..., 4] -> loss [...].
#include "detectors/box_loss.h"

#include "autograd/ops.h"
#include "detectors/iou.h"

namespace dg {

Tensor reduce_box_loss(const char* op, const Tensor& loss, Reduction r) {
  switch (r) {
    case Reduction::none: return loss;
    case Reduction::sum: return sum(loss);
    case Reduction::mean: return loss.numel() > 0 ? mean(loss) : mul(sum(loss), 0.0);  // torchvision: 0.0 * sum
    default: fail(op, ": reduction must be none, mean or sum, got ", reduction_name(r));
  }
}

// loss = 1 - (IoU - (C - U) / (C + eps))
Tensor generalized_box_iou_loss(const Tensor& boxes1, const Tensor& boxes2, Reduction r, double eps,
                                const Conventions& c) {
  check_paired_boxes("generalized_box_iou_loss", boxes1, boxes2);
  PairedIoUTerms t = paired_iou_terms(IoUKind::giou, boxes1, boxes2, eps, c);
  return reduce_box_loss("generalized_box_iou_loss", 1.0 - sub(t.iou, t.penalty), r);
}

// loss = 1 - IoU + rho^2 / (c^2 + eps)
Tensor distance_box_iou_loss(const Tensor& boxes1, const Tensor& boxes2, Reduction r, double eps,
                             const Conventions& c) {
  check_paired_boxes("distance_box_iou_loss", boxes1, boxes2);
  PairedIoUTerms t = paired_iou_terms(IoUKind::diou, boxes1, boxes2, eps, c);
  return reduce_box_loss("distance_box_iou_loss", add(1.0 - t.iou, t.penalty), r);
}

// loss = (1 - IoU + rho^2 / (c^2 + 1e-7)) + alpha v,  alpha = v / (1 - IoU + v + eps), no gradient
Tensor complete_box_iou_loss(const Tensor& boxes1, const Tensor& boxes2, Reduction r, double eps,
                             const Conventions& c) {
  check_paired_boxes("complete_box_iou_loss", boxes1, boxes2);
  PairedIoUTerms t = paired_iou_terms(IoUKind::ciou, boxes1, boxes2, 1e-7, c);
  Tensor diou_loss = add(1.0 - t.iou, t.penalty);
  return reduce_box_loss("complete_box_iou_loss", add(diou_loss, mul(ciou_alpha(t.v, t.iou, eps, c), t.v)), r);
}

IoULossMode parse_iou_loss_mode(const std::string& s) {
  if (s == "linear") return IoULossMode::linear;
  if (s == "log") return IoULossMode::log;
  fail("iou_loss: unknown mode '", s, "' (known: linear, log)");
}

// linear: 1 - IoU;  log: -log(max(IoU, eps))  (the clamp keeps the loss finite for disjoint boxes)
Tensor iou_loss(const Tensor& boxes1, const Tensor& boxes2, IoULossMode mode, Reduction r, double eps,
                const Conventions& c) {
  check_paired_boxes("iou_loss", boxes1, boxes2);
  PairedIoUTerms t = paired_iou_terms(IoUKind::iou, boxes1, boxes2, eps, c);
  // FCOS's own IOULoss: (I + 1) / (U + 1) instead of I / (U + eps).
  Tensor iou = c.iou_loss_plus_one ? div(add(t.inter, 1.0), add(t.uni, 1.0)) : t.iou;
  if (mode == IoULossMode::linear) return reduce_box_loss("iou_loss", 1.0 - iou, r);
  return reduce_box_loss("iou_loss", neg(log(clamp_min(iou, eps))), r);
}

Tensor box_l1_loss(const Tensor& boxes1, const Tensor& boxes2, Reduction r) {
  check_paired_boxes("box_l1_loss", boxes1, boxes2);
  Tensor per = l1_loss(boxes1, boxes2, Reduction::none);
  return reduce_box_loss("box_l1_loss", sum(per, {-1}), r);
}

Tensor box_smooth_l1_loss(const Tensor& boxes1, const Tensor& boxes2, double beta, Reduction r) {
  check_paired_boxes("box_smooth_l1_loss", boxes1, boxes2);
  Tensor per = smooth_l1_loss(boxes1, boxes2, Reduction::none, beta);
  return reduce_box_loss("box_smooth_l1_loss", sum(per, {-1}), r);
}

}  // namespace dg
