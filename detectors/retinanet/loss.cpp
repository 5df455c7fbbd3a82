// RetinaNet targets and loss (see loss.h). Legend: N images, A anchors, K classes, G boxes of an
// image, P positives of the batch.
#include "detectors/retinanet/loss.h"

#include <algorithm>
#include <cmath>

#include "autograd/graph.h"
#include "autograd/kernels/broadcast.h"
#include "autograd/ops.h"
#include "detectors/box_loss.h"
#include "detectors/iou.h"

namespace dg::retinanet {

Tensor flatten_head_outputs(const std::vector<Tensor>& per_level, int64_t C) {
  check(!per_level.empty() && C >= 1, "flatten_head_outputs: need at least one level and C >= 1");
  std::vector<Tensor> flat;
  for (size_t l = 0; l < per_level.size(); ++l) {
    const Tensor& x = per_level[l];
    check(x.defined() && x.dim() == 4 && x.size(1) % C == 0 && x.size(0) == per_level[0].size(0),
          "flatten_head_outputs: level ", l, " must be [N, A*", C, ", H, W] with the first level's N, got ",
          x.defined() ? shape_str(x.shape()) : "undefined");
    // [N, A*C, H, W] -> [N, H, W, A*C] -> [N, H*W*A, C]: anchor (y*W + x)*A + a, as anchors.h orders them
    flat.push_back(reshape(permute(x, {0, 2, 3, 1}), {x.size(0), -1, C}));
  }
  return flat.size() == 1 ? flat[0] : cat(flat, 1);
}

// ---- the fused focal sum ----------------------------------------------------------------------------
// With z = x for a negative (y = 0) and z = -x for the positive class (y = 1), both cases are one
// function: FL = w_y f(z), f(z) = s(z)^gamma softplus(z), w_y = alpha (y = 1) or 1 - alpha (y = 0)
// (torchvision: BCE = softplus(z), 1 - p_t = s(z)). Its derivative:
//   f'(z) = s(z)^gamma [gamma s(-z) softplus(z) + s(z)],   dFL/dx = w_y f'(z) dz/dx,  dz/dx = -+1.
// e = exp(-|z|) serves s(z), s(-z) and softplus(z) = max(z, 0) + log1p(e) without overflow.
namespace {
template <class T>
void focal_sum_kernel(const T* x, const int64_t* lab, int64_t N, int64_t A, int64_t K, const double* w, double alpha,
                      double gamma, double* sums, T* dx) {
  const T g = T(gamma);
  const bool g2 = gamma == 2.0;
  const T w_pos = alpha < 0 ? T(1) : T(alpha), w_neg = alpha < 0 ? T(1) : T(1 - alpha);
  // One image per iteration, summed in anchor order by one thread: the same bits for any thread count.
#pragma omp parallel for schedule(static) if (N * A * K >= kernels::kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    double s_img = 0;
    for (int64_t a = 0; a < A; ++a) {
      const int64_t y = lab[n * A + a];
      const T* xr = x + (n * A + a) * K;
      T* dr = dx ? dx + (n * A + a) * K : nullptr;
      if (y == kMatchIgnore) {
        if (dr) std::fill(dr, dr + K, T(0));
        continue;
      }
      double s_row = 0;
      for (int64_t k = 0; k < K; ++k) {
        const bool positive = k == y;
        const T z = positive ? -xr[k] : xr[k];
        const T e = std::exp(-std::abs(z));
        const T s = z >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);      // s(z)
        const T s_neg = z >= 0 ? e / (T(1) + e) : T(1) / (T(1) + e);  // s(-z) = 1 - s(z), accurately
        const T sp = std::max(z, T(0)) + std::log1p(e);               // softplus(z)
        const T sg = g2 ? s * s : (gamma == 0 ? T(1) : std::pow(s, g));
        const T wy = positive ? w_pos : w_neg;
        s_row += double(wy * sg * sp);
        if (dr) {
          const T d = T(w[n]) * wy * sg * (g * s_neg * sp + s);
          dr[k] = positive ? -d : d;
        }
      }
      s_img += s_row;
    }
    sums[n] = s_img;
  }
}
}  // namespace

Tensor retinanet_focal_sum(const Tensor& logits, const Tensor& labels, const std::vector<double>& w, double alpha,
                           double gamma) {
  const char* op = "retinanet_focal_sum";
  check(logits.defined() && logits.dim() == 3 && (logits.dtype() == DType::f32 || logits.dtype() == DType::f64), op,
        ": logits must be f32/f64 [N, A, K], got ", logits.defined() ? shape_str(logits.shape()) : "undefined");
  const int64_t N = logits.size(0), A = logits.size(1), K = logits.size(2);
  check(labels.defined() && labels.dtype() == DType::i64 && labels.shape() == Shape{N, A}, op,
        ": labels must be i64 [N, A] = ", shape_text(Shape{N, A}), ", got ",
        labels.defined() ? shape_str(labels.shape()) : "undefined");
  check((int64_t)w.size() == N, op, ": ", w.size(), " image weights for ", N, " images");
  check(gamma >= 0, op, ": gamma must be >= 0, got ", gamma);
  const int64_t* lab = labels.data<int64_t>();
  for (int64_t i = 0; i < N * A; ++i)
    check(lab[i] == kMatchIgnore || lab[i] == kMatchBackground || (lab[i] >= 0 && lab[i] < K), op, ": label ", lab[i],
          " at image ", i / std::max<int64_t>(A, 1), ", anchor ", i % std::max<int64_t>(A, 1), " is not a class 0..",
          K - 1, ", background (-1) or ignore (-2)");
  const bool grad = needs_grad({&logits});
  Tensor dx = grad ? Tensor::empty(logits.shape(), logits.dtype()) : Tensor();
  std::vector<double> sums((size_t)N, 0.0);
  if (logits.dtype() == DType::f32)
    focal_sum_kernel<float>(logits.data<float>(), lab, N, A, K, w.data(), alpha, gamma, sums.data(),
                            grad ? dx.data<float>() : nullptr);
  else
    focal_sum_kernel<double>(logits.data<double>(), lab, N, A, K, w.data(), alpha, gamma, sums.data(),
                             grad ? dx.data<double>() : nullptr);
  double total = 0;
  for (int64_t n = 0; n < N; ++n) total += w[(size_t)n] * sums[(size_t)n];
  Tensor out = scalar_tensor(total, logits.dtype());
  // d out / d x was computed with the forward (dx, already weighted by w[n]); backward scales it.
  return record(op, out, {logits}, [dx](const Tensor& g) { return std::vector<Tensor>{mul(dx, g.item())}; });
}

RetinaNetLoss retinanet_loss(const Tensor& cls_logits, const Tensor& box_deltas, const RetinaNetTargets& t,
                             const RetinaNetConfig& cfg) {
  const char* op = "retinanet_loss";
  check(cls_logits.defined() && cls_logits.dim() == 3 && cls_logits.size(2) == cfg.num_classes, op,
        ": cls_logits must be [N, A, ", cfg.num_classes, "], got ",
        cls_logits.defined() ? shape_str(cls_logits.shape()) : "undefined");
  const int64_t N = cls_logits.size(0), A = cls_logits.size(1);
  check(box_deltas.defined() && box_deltas.shape() == Shape{N, A, 4}, op, ": box_deltas must be ",
        shape_text(Shape{N, A, 4}), ", got ", box_deltas.defined() ? shape_str(box_deltas.shape()) : "undefined");
  check(t.labels.defined() && t.labels.shape() == Shape{N, A} && (int64_t)t.num_positives.size() == N, op,
        ": targets for ", t.num_positives.size(), " images with labels ",
        t.labels.defined() ? shape_str(t.labels.shape()) : "undefined", " do not fit the outputs ",
        shape_str(cls_logits.shape()));
  // Normalisers (loss.h): per image 1 / (N max(1, fg_n)), or 1 / max(1, total fg).
  std::vector<double> w((size_t)N);
  int64_t fg_total = 0;
  for (int64_t fg : t.num_positives) fg_total += fg;
  for (int64_t n = 0; n < N; ++n)
    w[(size_t)n] = cfg.focal_normalizer == "batch_fg"
                       ? 1.0 / double(std::max<int64_t>(1, fg_total))
                       : 1.0 / (double(N) * double(std::max<int64_t>(1, t.num_positives[(size_t)n])));
  RetinaNetLoss out;
  out.cls = retinanet_focal_sum(cls_logits, t.labels, w, cfg.focal_alpha, cfg.focal_gamma);

  const int64_t P = t.positives.numel();
  check(t.box_targets.defined() && t.box_targets.shape() == Shape{P, 4}, op, ": ", P, " positives but box targets ",
        t.box_targets.defined() ? shape_str(t.box_targets.shape()) : "undefined");
  if (P == 0) {
    // No positive anywhere: 0, still connected to the box head (zero gradients, as torchvision's sum of nothing).
    out.box = mul(sum(box_deltas), 0.0);
  } else {
    // Gather the positives' predictions with one index_select, then one weighted sum.
    Tensor pred = index_select(reshape(box_deltas, {N * A, 4}), 0, t.positives);  // [P, 4]
    Tensor target = t.box_targets.to(box_deltas.dtype()).detach();
    Tensor per = cfg.box_loss == "smooth_l1" ? box_smooth_l1_loss(pred, target, cfg.box_loss_beta)
                                             : box_l1_loss(pred, target);  // [P]
    std::vector<double> wp((size_t)P);
    const int64_t* pi = t.positives.data<int64_t>();
    for (int64_t p = 0; p < P; ++p) wp[(size_t)p] = w[(size_t)(pi[p] / A)];
    out.box = sum(mul(per, from_vector(wp, {P}, box_deltas.dtype())));
  }
  out.total = add(out.cls, out.box);
  return out;
}

}  // namespace dg::retinanet
