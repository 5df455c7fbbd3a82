// Focal-style classification losses, composed from engine ops in the order the reference code writes
// them (torchvision for sigmoid_focal_loss, the CenterNet authors' _neg_loss, mmdetection's
// varifocal_loss), so values and gradients agree with those references to rounding.
#include "detectors/focal_loss.h"

#include <cmath>

#include "autograd/ops.h"
#include "detectors/box_loss.h"

namespace dg {

void check_input_target(const char* op, const Tensor& input, const Tensor& target) {
  check(input.defined() && target.defined(), op, ": input or target is undefined");
  check(is_floating(input.dtype()) && input.dtype() == target.dtype(), op,
        ": input and target must be floating-point of one dtype, got ", dtype_name(input.dtype()), " and ",
        dtype_name(target.dtype()));
  check(input.shape() == target.shape(), op, ": input ", shape_text(input.shape()), " and target ",
        shape_text(target.shape()), " must have the same shape");
}

namespace {

// A bool mask as 0/1 of `like`'s dtype (a constant).
Tensor as_float(const Tensor& mask, const Tensor& like) {
  return where(mask, ones_like(like.detach()), zeros_like(like.detach()));
}

}  // namespace

// p_t = p y + (1 - p)(1 - y);  loss = BCE (1 - p_t)^gamma;  loss *= alpha y + (1 - alpha)(1 - y) if alpha >= 0
Tensor sigmoid_focal_loss(const Tensor& inputs, const Tensor& targets, double alpha, double gamma, Reduction r) {
  const char* op = "sigmoid_focal_loss";
  check_input_target(op, inputs, targets);
  Tensor p = sigmoid(inputs);
  Tensor ce = binary_cross_entropy_with_logits(inputs, targets, Tensor(), Tensor(), Reduction::none);
  Tensor p_t = add(mul(p, targets), mul(1.0 - p, 1.0 - targets));
  Tensor loss = mul(ce, pow(1.0 - p_t, gamma));
  if (alpha >= 0) {
    Tensor alpha_t = add(mul(targets, alpha), mul(1.0 - targets, 1.0 - alpha));
    loss = mul(alpha_t, loss);
  }
  return reduce_box_loss(op, loss, r);
}

// pos = [y == 1], neg = [y < 1], p = clamp(sigmoid(x), 1e-4, 1 - 1e-4)
// loss = -(sum log(p) (1-p)^a pos + sum log(1-p) p^a (1-y)^b neg) / num_pos   (num_pos > 0)
//      = -sum log(1-p) p^a (1-y)^b neg                                          (num_pos = 0)
Tensor centernet_focal_loss(const Tensor& input, const Tensor& target_in, bool logits, double alpha, double beta) {
  const char* op = "centernet_focal_loss";
  check_input_target(op, input, target_in);
  Tensor target = target_in.detach();
  for (double y : target.to_vector())
    check(y >= 0.0 && y <= 1.0, op, ": target heatmap values must lie in [0, 1], found ", y, " (shape ",
          shape_text(target.shape()), ")");
  const double lo = 1e-4, hi = 1.0 - 1e-4;
  Tensor p = clamp(logits ? sigmoid(input) : input, lo, hi);
  // q = 1 - p. From logits it is computed as clamp(sigmoid(-x)) (equal in exact arithmetic): where
  // p is near 1, 1 - p in f32 keeps only a few digits, and log(1 - p) and its gradient inherit
  // that error (up to ~1e-4 relative); sigmoid(-x) is accurate to the last bit.
  Tensor q = logits ? clamp(sigmoid(neg(input)), lo, hi) : 1.0 - p;
  Tensor pos = as_float(eq(target, scalar_tensor(1.0, target.dtype())), target);
  Tensor negm = as_float(lt(target, 1.0), target);
  Tensor neg_weights = pow(1.0 - target, beta);
  Tensor pos_loss = sum(mul(mul(log(p), pow(q, alpha)), pos));
  Tensor neg_loss = sum(mul(mul(mul(log(q), pow(p, alpha)), neg_weights), negm));
  const double num_pos = sum(pos).item();
  if (num_pos == 0) return neg(neg_loss);
  return div(neg(add(pos_loss, neg_loss)), num_pos);
}

// weight = q [q > 0] + alpha |p - q|^gamma [q <= 0]   (1 instead of q when !iou_weighted)
// loss = BCE(x, q) * weight
Tensor varifocal_loss(const Tensor& input, const Tensor& target_in, double alpha, double gamma, bool iou_weighted,
                      Reduction r) {
  const char* op = "varifocal_loss";
  check_input_target(op, input, target_in);
  Tensor target = target_in.detach();
  Tensor p = sigmoid(input);
  Tensor pos = as_float(gt(target, 0.0), target);
  Tensor negm = as_float(logical_not(gt(target, 0.0)), target);
  Tensor neg_w = mul(mul(pow(abs(sub(p, target)), gamma), alpha), negm);
  Tensor weight = add(iou_weighted ? mul(target, pos) : pos, neg_w);
  Tensor loss = mul(binary_cross_entropy_with_logits(input, target, Tensor(), Tensor(), Reduction::none), weight);
  return reduce_box_loss(op, loss, r);
}

}  // namespace dg
