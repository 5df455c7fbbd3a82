// Classification losses of one-stage detectors, all on logits unless said otherwise, composed from
// engine ops (differentiable, f32 and f64). Shapes: inputs and targets of one shape [...].
// docs/detection/focal.md has the formulas, the constants and where references disagree.
#pragma once
#include "autograd/ops/loss.h"
#include "autograd/tensor.h"

namespace dg {

// The checks every classification loss here makes: input and target defined, floating, of one dtype
// and one shape; dg::Error naming `op` otherwise.
void check_input_target(const char* op, const Tensor& input, const Tensor& target);

// RetinaNet focal loss (torchvision.ops.sigmoid_focal_loss): p = sigmoid(x),
// p_t = p y + (1 - p)(1 - y), loss = alpha_t BCE(x, y) (1 - p_t)^gamma, alpha_t = alpha y + (1 - alpha)(1 - y);
// alpha < 0 drops the alpha_t factor. Reduction none / sum / mean (mean of nothing is 0, see docs).
Tensor sigmoid_focal_loss(const Tensor& inputs, const Tensor& targets, double alpha = 0.25, double gamma = 2.0,
                          Reduction r = Reduction::none);

// CenterNet's penalty-reduced focal loss (Zhou et al. 2019, the authors' _neg_loss). Returns a scalar.
// input: logits (logits = true) or probabilities (false); either way p is clamped to [1e-4, 1 - 1e-4].
// target: heatmap in [0, 1]; positives are cells equal to exactly 1.
//   loss = -(sum_pos (1-p)^alpha log p + sum_neg (1-y)^beta p^alpha log(1-p)) / num_pos
// and, when num_pos = 0, the negative term alone, not normalised. The target takes no gradient.
Tensor centernet_focal_loss(const Tensor& input, const Tensor& target, bool logits = true, double alpha = 2.0,
                            double beta = 4.0);

// Varifocal loss (VarifocalNet, as mmdetection): q = target IoU score (0 for negatives), p = sigmoid(x),
// weight = q for q > 0 (1 if !iou_weighted), alpha |p - q|^gamma for q <= 0; loss = BCE(x, q) * weight.
// As in mmdetection the weight is not detached; the target takes no gradient.
Tensor varifocal_loss(const Tensor& input, const Tensor& target, double alpha = 0.75, double gamma = 2.0,
                      bool iou_weighted = true, Reduction r = Reduction::none);

}  // namespace dg
