// CenterNet decoding: see decode.h. Peaks and top-K on plain arrays; the per-image work is
// sequential, so the result does not depend on the thread count.
#include "detectors/centernet/decode.h"

#include <algorithm>
#include <numeric>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "autograd/ops/pool.h"

namespace dg::centernet {

namespace {
struct Det {
  double x1, y1, x2, y2, score;
  int64_t label;
};
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
  check(to_image.empty() || (int64_t)to_image.size() == n, "centernet_decode: ", to_image.size(), " affine maps for ",
        n, " images");
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
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int64_t i, int64_t j) { return score[i] > score[j] || (score[i] == score[j] && i < j); });
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
    std::vector<double> bx, sc;
    std::vector<int64_t> lb;
    for (const Det& d : dets) {
      bx.insert(bx.end(), {d.x1, d.y1, d.x2, d.y2});
      sc.push_back(d.score);
      lb.push_back(d.label);
    }
    Detections found = det::make_detections(bx, sc, lb, heatmap_logits.dtype());
    det::NmsOptions no;
    no.kind = opt.nms;
    no.iou = opt.nms_iou;
    no.soft_sigma = opt.soft_sigma;
    no.soft_min_score = opt.soft_min_score;
    result.push_back(det::class_wise_nms(found, no));
  }
  return result;
}

}  // namespace dg::centernet
