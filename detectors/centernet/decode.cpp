// CenterNet decoding: see decode.h. Peaks and top-K on plain arrays; the per-image work is
// sequential, so the result does not depend on the thread count.
#include "detectors/centernet/decode.h"

#include <algorithm>
#include <numeric>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "autograd/ops/pool.h"
#include "detectors/nms.h"

namespace dg::centernet {

PostNms post_nms_from_name(const std::string& name) {
  if (name == "none") return PostNms::none;
  if (name == "hard") return PostNms::hard;
  if (name == "soft-linear") return PostNms::soft_linear;
  if (name == "soft-gaussian") return PostNms::soft_gaussian;
  if (name == "diou") return PostNms::diou;
  fail("centernet_decode: unknown NMS '", name, "' (none, hard, soft-linear, soft-gaussian, diou)");
}

const char* post_nms_name(PostNms m) {
  switch (m) {
    case PostNms::none: return "none";
    case PostNms::hard: return "hard";
    case PostNms::soft_linear: return "soft-linear";
    case PostNms::soft_gaussian: return "soft-gaussian";
    case PostNms::diou: return "diou";
  }
  return "?";
}

namespace {

struct Det {
  double x1, y1, x2, y2, score;
  int64_t label;
};

// Class-wise NMS of one image's detections; returns the survivors sorted by descending score
// (stable: equal scores keep their top-K order).
std::vector<Det> apply_nms(const std::vector<Det>& dets, const DecodeOptions& opt) {
  std::vector<Det> out;
  std::vector<int64_t> classes;
  for (const Det& d : dets) classes.push_back(d.label);
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  for (int64_t c : classes) {
    std::vector<Det> group;
    for (const Det& d : dets)
      if (d.label == c) group.push_back(d);
    std::vector<double> b, s;
    for (const Det& d : group) {
      b.insert(b.end(), {d.x1, d.y1, d.x2, d.y2});
      s.push_back(d.score);
    }
    const int64_t m = (int64_t)group.size();
    Tensor boxes = from_vector(b, {m, 4}, DType::f64), scores = from_vector(s, {m}, DType::f64);
    if (opt.nms == PostNms::hard || opt.nms == PostNms::diou) {
      Tensor keep = opt.nms == PostNms::hard ? nms(boxes, scores, opt.nms_iou) : diou_nms(boxes, scores, opt.nms_iou);
      for (double i : keep.to_vector()) out.push_back(group[(size_t)i]);
    } else {
      SoftNmsOptions so;
      so.method = opt.nms == PostNms::soft_linear ? SoftNmsMethod::linear : SoftNmsMethod::gaussian;
      so.sigma = opt.soft_sigma;
      so.iou_threshold = opt.nms_iou;
      so.score_threshold = opt.soft_min_score;
      SoftNmsResult r = soft_nms(boxes, scores, so);
      std::vector<double> idx = r.indices.to_vector(), sc = r.scores.to_vector();
      for (size_t j = 0; j < idx.size(); ++j) {
        Det d = group[(size_t)idx[j]];
        d.score = sc[j];
        out.push_back(d);
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Det& a, const Det& b) { return a.score > b.score; });
  return out;
}

}  // namespace

std::vector<Detections> centernet_decode(const Tensor& heatmap_logits, const Tensor& wh, const Tensor& offset,
                                         const DecodeOptions& opt, const std::vector<Affine>& to_image) {
  check(heatmap_logits.dim() == 4, "centernet_decode: heatmap must be [N,C,H,W], got ",
        shape_text(heatmap_logits.shape()));
  const int64_t n = heatmap_logits.size(0), c = heatmap_logits.size(1), h = heatmap_logits.size(2),
                w = heatmap_logits.size(3), hw = h * w;
  const Shape reg_shape = {n, 2, h, w};
  check(wh.shape() == reg_shape && offset.shape() == reg_shape, "centernet_decode: wh ", shape_text(wh.shape()),
        " and offset ", shape_text(offset.shape()), " must be ", shape_text(reg_shape), " to match heatmap ",
        shape_text(heatmap_logits.shape()));
  check(opt.topk >= 1, "centernet_decode: topk must be >= 1, got ", opt.topk);
  check(to_image.empty() || (int64_t)to_image.size() == n, "centernet_decode: ", to_image.size(),
        " affine maps for ", n, " images");
  // Peaks: a cell survives when it equals the maximum of its 3x3 neighbourhood.
  Tensor p = sigmoid(heatmap_logits.detach());
  Tensor pooled = max_pool2d(p, {3}, {1}, {1});
  const std::vector<double> pv = p.to_vector(), mv = pooled.to_vector();
  const std::vector<double> whv = wh.detach().to_vector(), offv = offset.detach().to_vector();
  const int64_t k = std::min(opt.topk, c * hw);

  std::vector<Detections> result;
  for (int64_t b = 0; b < n; ++b) {
    const double* ps = pv.data() + b * c * hw;
    const double* ms = mv.data() + b * c * hw;
    std::vector<double> score(c * hw);
    for (int64_t i = 0; i < c * hw; ++i) score[i] = ps[i] == ms[i] ? ps[i] : 0.0;  // CenterNet: heat * keep
    std::vector<int64_t> order(c * hw);
    std::iota(order.begin(), order.end(), 0);
    // Top-K, descending score, ties by the lower flat index.
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t i, int64_t j) {
      return score[i] > score[j] || (score[i] == score[j] && i < j);
    });
    std::vector<Det> dets;
    const Affine a = to_image.empty() ? Affine{1, 0, 0, 0, 1, 0} : to_image[(size_t)b];
    for (int64_t r = 0; r < k; ++r) {
      const int64_t i = order[r];
      if (!(score[i] > opt.score_threshold)) continue;
      const int64_t cell = i % hw, x = cell % w, y = cell / w;
      const double* whb = whv.data() + b * 2 * hw;
      const double* ofb = offv.data() + b * 2 * hw;
      const double cx = x + ofb[cell], cy = y + ofb[hw + cell];
      const double bw = whb[cell], bh = whb[hw + cell];
      double x1 = (cx - bw / 2) * opt.stride, y1 = (cy - bh / 2) * opt.stride;
      double x2 = (cx + bw / 2) * opt.stride, y2 = (cy + bh / 2) * opt.stride;
      Det d;
      d.x1 = a[0] * x1 + a[1] * y1 + a[2];
      d.y1 = a[3] * x1 + a[4] * y1 + a[5];
      d.x2 = a[0] * x2 + a[1] * y2 + a[2];
      d.y2 = a[3] * x2 + a[4] * y2 + a[5];
      d.score = score[i];
      d.label = i / hw;
      dets.push_back(d);
    }
    if (opt.nms != PostNms::none && !dets.empty()) dets = apply_nms(dets, opt);
    const int64_t m = (int64_t)dets.size();
    std::vector<double> bx, sc, lb;
    for (const Det& d : dets) {
      bx.insert(bx.end(), {d.x1, d.y1, d.x2, d.y2});
      sc.push_back(d.score);
      lb.push_back((double)d.label);
    }
    const DType dt = heatmap_logits.dtype();
    result.push_back({from_vector(bx, {m, 4}, dt), from_vector(sc, {m}, dt), from_vector(lb, {m}, DType::i64)});
  }
  return result;
}

}  // namespace dg::centernet
