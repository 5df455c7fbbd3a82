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

FcosBatchTargets fcos_batch_targets(const std::vector<std::vector<data::Box>>& boxes,
                                    const std::vector<std::vector<int>>& labels, int64_t K,
                                    const FcosAssignOptions& opt, const Conventions& conv, DType dtype) {
  const char* op = "fcos_batch_targets";
  check(boxes.size() == labels.size(), op, ": ", boxes.size(), " box lists but ", labels.size(), " label lists");
  check(dtype == DType::f32 || dtype == DType::f64, op, ": dtype must be f32 or f64, got ", dtype_name(dtype));
  check(K >= 1, op, ": num_classes must be >= 1, got ", K);
  const int64_t N = (int64_t)boxes.size();
  std::vector<int64_t> sizes;
  const int64_t P = fcos_points(opt, conv, DType::f64, &sizes).size(0);

  FcosBatchTargets t;
  t.onehot = zeros({N, K, P}, dtype);
  std::vector<double> pos_box, pos_ctr;
  std::vector<double> index;
  for (int64_t n = 0; n < N; ++n) {
    const auto& b = boxes[(size_t)n];
    const auto& lab = labels[(size_t)n];
    check(b.size() == lab.size(), op, ": image ", n, " has ", b.size(), " boxes but ", lab.size(), " labels");
    std::vector<double> bv;
    std::vector<double> lv;
    for (size_t g = 0; g < b.size(); ++g) {
      check(lab[g] >= 0 && lab[g] < K, op, ": image ", n, " box ", g, " has label ", lab[g], ", expected 0..", K - 1);
      for (float c : b[g]) bv.push_back(c);
      lv.push_back(lab[g]);
    }
    const int64_t G = (int64_t)b.size();
    // Assignment in f64 whatever the loss dtype: the targets are constants.
    FcosTargets ft = fcos_targets(from_vector(bv, {G, 4}, DType::f64), from_vector(lv, {G}, DType::i64), opt, conv);
    const int64_t* cls = ft.labels.data<int64_t>();
    const double* ltrb = ft.ltrb.data<double>();
    const double* ctr = ft.centerness.data<double>();
    for (int64_t p = 0; p < P; ++p) {
      if (cls[p] < 0) continue;
      const int64_t flat = (n * K + cls[p]) * P + p;
      if (dtype == DType::f32)
        t.onehot.data<float>()[flat] = 1.0f;
      else
        t.onehot.data<double>()[flat] = 1.0;
      index.push_back(double(n * P + p));
      for (int j = 0; j < 4; ++j) pos_box.push_back(ltrb[4 * p + j]);
      pos_ctr.push_back(ctr[p]);
      t.pos_label.push_back(cls[p]);
    }
  }
  t.num_pos = (int64_t)index.size();
  t.pos_index = from_vector(index, {t.num_pos}, DType::i64);
  t.pos_box = from_vector(pos_box, {t.num_pos, 4}, dtype);
  t.pos_ctr = from_vector(pos_ctr, {t.num_pos}, dtype);
  return t;
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
        t.onehot.defined() ? shape_str(t.onehot.shape()) : std::string("nothing"), ", cls is ", shape_text(cls.shape()));
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
