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

namespace {

// An image's usable boxes: rows of `boxes` with w, h > 0, and their indices in `boxes`.
struct ValidBoxes {
  std::vector<double> coords;   // 4 per kept box
  std::vector<int64_t> index;   // row in the caller's list
};

ValidBoxes valid_boxes(const char* op, int64_t n, const Tensor& boxes) {
  check(boxes.defined() && boxes.dim() == 2 && boxes.size(1) == 4, op, ": boxes of image ", n,
        " must be [G,4], got ", boxes.defined() ? shape_str(boxes.shape()) : "undefined");
  const std::vector<double> b = boxes.to_vector();
  ValidBoxes v;
  for (int64_t g = 0; g < boxes.size(0); ++g) {
    const double* r = &b[(size_t)(4 * g)];
    for (int j = 0; j < 4; ++j)
      check(std::isfinite(r[j]), op, ": box ", g, " of image ", n, " has a non-finite coordinate (", r[0], ", ", r[1],
            ", ", r[2], ", ", r[3], ")");
    if (!(r[2] > r[0] && r[3] > r[1])) continue;   // zero width or height: no anchor can match it
    v.coords.insert(v.coords.end(), r, r + 4);
    v.index.push_back(g);
  }
  return v;
}

}  // namespace

RetinaNetTargets retinanet_targets(const Tensor& anchors, const std::vector<Tensor>& boxes,
                                   const std::vector<std::vector<int64_t>>& labels, int64_t K,
                                   const MatcherOptions& match, const BoxCoderOptions& coder, const Conventions& conv) {
  const char* op = "retinanet_targets";
  check(anchors.defined() && anchors.dim() == 2 && anchors.size(1) == 4, op, ": anchors must be [A,4], got ",
        anchors.defined() ? shape_str(anchors.shape()) : "undefined");
  check(anchors.dtype() == DType::f32 || anchors.dtype() == DType::f64, op, ": anchors must be f32 or f64");
  check(boxes.size() == labels.size(), op, ": ", boxes.size(), " box lists but ", labels.size(), " label lists");
  const int64_t N = (int64_t)boxes.size(), A = anchors.size(0);
  const DType dt = anchors.dtype();
  const std::vector<double> an = anchors.to_vector();

  RetinaNetTargets t;
  Tensor lab = full({N, A}, double(kMatchBackground), DType::i64);
  int64_t* L = lab.data<int64_t>();
  std::vector<double> pos, gt_rows, anchor_rows;
  for (int64_t n = 0; n < N; ++n) {
    check(boxes[(size_t)n].size(0) == (int64_t)labels[(size_t)n].size(), op, ": image ", n, " has ",
          boxes[(size_t)n].size(0), " boxes but ", labels[(size_t)n].size(), " labels");
    for (size_t g = 0; g < labels[(size_t)n].size(); ++g)
      check(labels[(size_t)n][g] >= 0 && labels[(size_t)n][g] < K, op, ": label ", labels[(size_t)n][g], " of box ", g,
            " in image ", n, " is outside 0..", K - 1);
    const ValidBoxes v = valid_boxes(op, n, boxes[(size_t)n]);
    int64_t fg = 0;
    if (!v.index.empty()) {
      const int64_t G = (int64_t)v.index.size();
      const Tensor m = retinanet_match_boxes(from_vector(v.coords, {G, 4}, dt), anchors, match, conv);
      const int64_t* mp = m.data<int64_t>();
      for (int64_t a = 0; a < A; ++a) {
        if (mp[a] < 0) {
          L[n * A + a] = mp[a];
          continue;
        }
        L[n * A + a] = labels[(size_t)n][(size_t)v.index[(size_t)mp[a]]];
        pos.push_back(double(n * A + a));
        gt_rows.insert(gt_rows.end(), v.coords.begin() + 4 * mp[a], v.coords.begin() + 4 * mp[a] + 4);
        anchor_rows.insert(anchor_rows.end(), an.begin() + 4 * a, an.begin() + 4 * a + 4);
        ++fg;
      }
    }
    t.num_positives.push_back(fg);
  }
  const int64_t P = (int64_t)pos.size();
  t.labels = lab;
  t.positives = from_vector(pos, {P}, DType::i64);
  if (P == 0) {
    t.box_targets = zeros({0, 4}, dt);
  } else {
    NoGradGuard ng;
    t.box_targets = box_encode(from_vector(gt_rows, {P, 4}, dt), from_vector(anchor_rows, {P, 4}, dt), coder);
  }
  return t;
}

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
void focal_sum_kernel(const T* x, const int64_t* lab, int64_t N, int64_t A, int64_t K, const double* w,
                      double alpha, double gamma, double* sums, T* dx) {
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
        const T s = z >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);       // s(z)
        const T s_neg = z >= 0 ? e / (T(1) + e) : T(1) / (T(1) + e);   // s(-z) = 1 - s(z), accurately
        const T sp = std::max(z, T(0)) + std::log1p(e);                // softplus(z)
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
          " at image ", i / std::max<int64_t>(A, 1), ", anchor ", i % std::max<int64_t>(A, 1),
          " is not a class 0..", K - 1, ", background (-1) or ignore (-2)");
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
    Tensor pred = index_select(reshape(box_deltas, {N * A, 4}), 0, t.positives);   // [P, 4]
    Tensor target = t.box_targets.to(box_deltas.dtype()).detach();
    Tensor per = cfg.box_loss == "smooth_l1" ? box_smooth_l1_loss(pred, target, cfg.box_loss_beta)
                                             : box_l1_loss(pred, target);      // [P]
    std::vector<double> wp((size_t)P);
    const int64_t* pi = t.positives.data<int64_t>();
    for (int64_t p = 0; p < P; ++p) wp[(size_t)p] = w[(size_t)(pi[p] / A)];
    out.box = sum(mul(per, from_vector(wp, {P}, box_deltas.dtype())));
  }
  out.total = add(out.cls, out.box);
  return out;
}

std::vector<AnchorMatch> retinanet_positive_anchors(const Tensor& anchors, const std::vector<int64_t>& level_sizes,
                                                    const std::vector<int64_t>& levels, const Tensor& boxes,
                                                    const MatcherOptions& match, const Conventions& conv) {
  const char* op = "retinanet_positive_anchors";
  check(level_sizes.size() == levels.size(), op, ": ", level_sizes.size(), " level sizes for ", levels.size(), " levels");
  int64_t total = 0;
  for (int64_t s : level_sizes) total += s;
  check(anchors.defined() && anchors.dim() == 2 && anchors.size(0) == total, op, ": anchors ",
        anchors.defined() ? shape_str(anchors.shape()) : "undefined", " do not match the level sizes (", total, ")");
  std::vector<AnchorMatch> out;
  const ValidBoxes v = valid_boxes(op, 0, boxes);
  if (v.index.empty()) return out;
  const int64_t G = (int64_t)v.index.size(), A = anchors.size(0);
  const Tensor b = from_vector(v.coords, {G, 4}, anchors.dtype());
  const Tensor iou = box_iou(b, anchors.detach(), conv);
  const Tensor m = retinanet_match(iou, match);
  const int64_t* mp = m.data<int64_t>();
  const std::vector<double> an = anchors.to_vector();
  size_t lv = 0;
  int64_t level_end = level_sizes.empty() ? 0 : level_sizes[0];
  for (int64_t a = 0; a < A; ++a) {
    while (a >= level_end && lv + 1 < level_sizes.size()) level_end += level_sizes[++lv];
    if (mp[a] < 0) continue;
    AnchorMatch am;
    am.anchor = a;
    am.level = levels[lv];
    for (int j = 0; j < 4; ++j) am.box[(size_t)j] = an[(size_t)(4 * a + j)];
    am.gt = v.index[(size_t)mp[a]];
    am.iou = iou.at(mp[a] * A + a);
    out.push_back(am);
  }
  return out;
}

}  // namespace dg::retinanet
