// RetinaNet decoding (see decode.h). Legend: N images, K classes, level l with A_l anchors per
// location on an H_l x W_l grid, M candidates of an image.
#include "detectors/retinanet/decode.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "autograd/graph.h"
#include "autograd/ops.h"

namespace dg::retinanet {

namespace {

struct Candidate {
  double score;
  int64_t flat;  // (anchor within the level) * K + class: torchvision's flattened index
  int64_t level;
};

// Ranks candidates: higher score first, then the lower flat index (a fixed order for ties).
bool better(const Candidate& a, const Candidate& b) { return a.score != b.score ? a.score > b.score : a.flat < b.flat; }

template <class T>
det::Detections decode_image(int64_t n, const std::vector<Tensor>& cls, const std::vector<Tensor>& box,
                             const std::vector<double>& anchors, const std::vector<int64_t>& level_offset, int64_t K,
                             int64_t image_h, int64_t image_w, const det::InferenceOptions& opt,
                             const BoxCoderOptions& coder, DType anchor_dtype) {
  // s > t  <=>  x > log(t / (1 - t)): a cheap pre-filter (with a margin for rounding) before the
  // exact test on the sigmoid, so the exp runs only for the few candidates.
  const double t = opt.score_threshold;
  const double x_min = t <= 0 ? -INFINITY : (t >= 1 ? INFINITY : std::log(t / (1 - t)) - 1e-6);
  std::vector<Candidate> kept;
  for (size_t l = 0; l < cls.size(); ++l) {
    const int64_t C = cls[l].size(1), H = cls[l].size(2), W = cls[l].size(3), HW = H * W, A = C / K;
    const T* x = cls[l].data<T>() + n * C * HW;
    std::vector<Candidate> level;
    // Memory order is (channel a*K + k, cell p); the flat index is (p*A + a)*K + k.
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < HW; ++p) {
        const double v = double(x[c * HW + p]);
        if (!(v > x_min)) continue;
        const double s = v >= 0 ? 1.0 / (1.0 + std::exp(-v)) : std::exp(v) / (1.0 + std::exp(v));
        if (s > opt.score_threshold) level.push_back({s, (p * A + c / K) * K + c % K, (int64_t)l});
      }
    const size_t k = (size_t)std::min<int64_t>((int64_t)level.size(), opt.topk_candidates);
    std::partial_sort(level.begin(), level.begin() + (std::ptrdiff_t)k, level.end(), better);
    kept.insert(kept.end(), level.begin(), level.begin() + (std::ptrdiff_t)k);
  }
  if (kept.empty()) return det::empty_detections(cls[0].dtype());
  // All candidates by score (stable over levels), so the detections are sorted even without NMS.
  std::stable_sort(kept.begin(), kept.end(), [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  const int64_t M = (int64_t)kept.size();
  std::vector<double> deltas((size_t)(4 * M)), anc((size_t)(4 * M)), scores((size_t)M);
  std::vector<int64_t> labels((size_t)M);
  for (int64_t i = 0; i < M; ++i) {
    const Candidate& c = kept[(size_t)i];
    const Tensor& b = box[(size_t)c.level];
    const int64_t H = b.size(2), W = b.size(3), HW = H * W, A = b.size(1) / 4;
    const int64_t anchor = c.flat / K, p = anchor / A, a = anchor % A;
    const T* d = b.data<T>() + n * b.size(1) * HW;
    for (int64_t j = 0; j < 4; ++j) {
      deltas[(size_t)(4 * i + j)] = double(d[(a * 4 + j) * HW + p]);
      anc[(size_t)(4 * i + j)] = anchors[(size_t)(4 * (level_offset[(size_t)c.level] + anchor) + j)];
    }
    scores[(size_t)i] = c.score;
    labels[(size_t)i] = c.flat % K;
  }
  Tensor boxes = box_decode(from_vector(deltas, {M, 4}, anchor_dtype), from_vector(anc, {M, 4}, anchor_dtype), coder);
  // clip_boxes_to_image: x in [0, W], y in [0, H]
  std::vector<double> bv = boxes.to_vector();
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      const double hi = double(j % 2 == 0 ? image_w : image_h);
      bv[(size_t)(4 * i + j)] = std::clamp(bv[(size_t)(4 * i + j)], 0.0, hi);
    }
  det::Detections d = det::make_detections(bv, scores, labels, cls[0].dtype());
  return det::keep_first(det::class_wise_nms(d, opt.nms), opt.max_detections);
}

}  // namespace

std::vector<det::Detections> retinanet_decode(const std::vector<Tensor>& cls, const std::vector<Tensor>& box,
                                              const Tensor& anchors, int64_t K, int64_t image_h, int64_t image_w,
                                              const det::InferenceOptions& opt, const BoxCoderOptions& coder) {
  const char* op = "retinanet_decode";
  check(!cls.empty() && cls.size() == box.size(), op, ": ", cls.size(), " class maps and ", box.size(),
        " box maps (one of each per level)");
  check(K >= 1 && image_h > 0 && image_w > 0, op, ": need K >= 1 and a positive image size");
  check(opt.topk_candidates >= 0 && opt.max_detections >= 0, op, ": topk_candidates and max_detections must be >= 0");
  const DType dt = cls[0].dtype();
  check(dt == DType::f32 || dt == DType::f64, op, ": head outputs must be f32 or f64, got ", dtype_name(dt));
  std::vector<int64_t> level_offset;
  int64_t total = 0;
  for (size_t l = 0; l < cls.size(); ++l) {
    const Tensor &c = cls[l], &b = box[l];
    check(c.dim() == 4 && b.dim() == 4 && c.dtype() == dt && b.dtype() == dt && c.size(1) % K == 0 &&
              b.size(1) % 4 == 0 && c.size(1) / K == b.size(1) / 4 && c.size(0) == cls[0].size(0) &&
              b.size(0) == c.size(0) && b.size(2) == c.size(2) && b.size(3) == c.size(3),
          op, ": level ", l, ": cls ", shape_text(c.shape()), " and box ", shape_text(b.shape()), " must be [N, A*", K,
          ", H, W] and [N, A*4, H, W] of one dtype");
    level_offset.push_back(total);
    total += c.size(2) * c.size(3) * (c.size(1) / K);
  }
  check(anchors.defined() && anchors.dim() == 2 && anchors.size(0) == total && anchors.size(1) == 4, op,
        ": anchors must be [", total, ", 4] for these maps, got ",
        anchors.defined() ? shape_str(anchors.shape()) : "undefined");
  const std::vector<double> an = anchors.to_vector();
  const int64_t N = cls[0].size(0);
  std::vector<det::Detections> out((size_t)N);
  std::exception_ptr error;
  // One image per thread: each image's work is serial, so the result does not depend on the thread count.
#pragma omp parallel for schedule(dynamic, 1) if (N > 1)
  for (int64_t n = 0; n < N; ++n) {
    try {
      NoGradGuard ng;
      out[(size_t)n] = dt == DType::f32 ? decode_image<float>(n, cls, box, an, level_offset, K, image_h, image_w, opt,
                                                              coder, anchors.dtype())
                                        : decode_image<double>(n, cls, box, an, level_offset, K, image_h, image_w, opt,
                                                               coder, anchors.dtype());
    } catch (...) {
#pragma omp critical(retinanet_decode_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return out;
}

}  // namespace dg::retinanet
