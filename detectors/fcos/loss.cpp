// FCOS loss (see loss.h). Legend: N images, K classes, P points, M positives in the batch.
// Targets are built with plain arrays (fcos_targets per image); the loss itself is a handful of large
// autograd ops: one focal loss over [N,K,P], one gather + GIoU over [M,4], one BCE over [M].
#include "detectors/fcos/loss.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "detectors/box_loss.h"
#include "detectors/focal_loss.h"

namespace dg::fcos {

// ---- centerness_loss -----------------------------------------------------------------------------
// loss_i = BCE_with_logits(x_i, c_i) = max(x, 0) - x c + log(1 + e^-|x|)
Tensor centerness_loss(const Tensor& input, const Tensor& target, Reduction r) {
  const char* op = "centerness_loss";
  check_input_target(op, input, target);
  return reduce_box_loss(op, binary_cross_entropy_with_logits(input, target, Tensor(), Tensor(), Reduction::none), r);
}

FcosLoss fcos_loss(const Tensor& cls, const Tensor& box, const Tensor& ctr, const FcosBatchTargets& t,
                   const FcosLossOptions& opt) {
  const char* op = "fcos_loss";
  check(cls.defined() && box.defined() && ctr.defined(), op, ": a head output is undefined");
  check(cls.dim() == 3, op, ": cls must be [N, K, P], got ", shape_text(cls.shape()));
  const int64_t N = cls.size(0), P = cls.size(2);
  check(box.shape() == Shape{N, 4, P}, op, ": box must be [N, 4, P] = [", N, ", 4, ", P, "] like cls ",
        shape_text(cls.shape()), ", got ", shape_text(box.shape()));
  check(ctr.shape() == Shape{N, P}, op, ": ctr must be [N, P] = [", N, ", ", P, "], got ", shape_text(ctr.shape()));
  check(box.dtype() == cls.dtype() && ctr.dtype() == cls.dtype(), op, ": cls, box and ctr must share one dtype");
  check(t.onehot.defined() && t.onehot.shape() == cls.shape(), op, ": targets are for ",
        t.onehot.defined() ? shape_str(t.onehot.shape()) : std::string("nothing"), ", cls is ",
        shape_text(cls.shape()));
  check(t.onehot.dtype() == cls.dtype(), op, ": targets are ", dtype_name(t.onehot.dtype()), ", outputs ",
        dtype_name(cls.dtype()), " (build the targets in the outputs' dtype)");
  check(opt.box_weighting == "centerness" || opt.box_weighting == "none", op,
        ": box_weighting must be \"centerness\" or \"none\", got \"", opt.box_weighting, "\"");
  const int64_t M = t.num_pos;

  FcosLoss L;
  // Focal loss over every point and class, normalised by the positives of the whole batch.
  L.cls = div(sigmoid_focal_loss(cls, t.onehot, opt.focal_alpha, opt.focal_gamma, Reduction::sum),
              double(std::max<int64_t>(1, M)));

  // The positives' predictions: box [N,4,P] -> [N,P,4] -> [N*P,4] -> rows pos_index -> [M,4].
  Tensor pred_box = index_select(reshape(permute(box, {0, 2, 1}), {N * P, 4}), 0, t.pos_index);
  Tensor pred_ctr = index_select(reshape(ctr, {N * P}), 0, t.pos_index);
  if (M == 0) {
    // Sums over zero rows: exact zeros connected to the graph (zero gradients, never NaN).
    L.box = sum(pred_box);
    L.ctr = sum(pred_ctr);
  } else {
    // (l, t, r, b) -> the box (-l, -t, r, b) around the point.
    const Tensor sign = tensor({-1, -1, 1, 1}, {1, 4}, cls.dtype());
    Tensor giou = generalized_box_iou_loss(mul(pred_box, sign), mul(t.pos_box, sign), Reduction::none);  // [M]
    if (opt.box_weighting == "centerness") {
      double ctr_sum = 0;
      for (double c : t.pos_ctr.to_vector()) ctr_sum += c;
      L.box = div(sum(mul(giou, t.pos_ctr)), ctr_sum);
    } else {
      L.box = div(sum(giou), double(M));
    }
    L.ctr = div(binary_cross_entropy_with_logits(pred_ctr, t.pos_ctr, Tensor(), Tensor(), Reduction::sum), double(M));
  }
  L.total = add(add(L.cls, L.box), L.ctr);
  return L;
}

}  // namespace dg::fcos
