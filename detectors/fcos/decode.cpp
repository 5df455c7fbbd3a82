// FCOS decoding (see decode.h). Legend: N images, K classes, P points, L levels.
#include "detectors/fcos/decode.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autograd/error.h"
#include "autograd/graph.h"

namespace dg::fcos {

namespace {
double sigmoid_of(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Candidate {
  double score;
  int64_t order;  // p * K + k inside the level: the tie-break
  int64_t p, k;
};

// The candidates of points [start, start + size) of image n. c: cls logits [N,K,P], z: ctr logits [N,P].
// Classes outer, points inner (contiguous reads). A logit below logit(threshold) - 1e-6 cannot pass,
// so most entries cost one comparison; the survivors are checked exactly on the probability.
template <class T>
void collect(const T* c, const T* z, int64_t n, int64_t K, int64_t P, int64_t start, int64_t size, double threshold,
             bool score_sqrt, std::vector<Candidate>& cand) {
  const double cut = threshold <= 0   ? -std::numeric_limits<double>::infinity()
                     : threshold >= 1 ? std::numeric_limits<double>::infinity()
                                      : std::log(threshold / (1 - threshold)) - 1e-6;
  for (int64_t k = 0; k < K; ++k) {
    const T* row = c + (n * K + k) * P;
    for (int64_t p = start; p < start + size; ++p) {
      if (!(double(row[p]) > cut)) continue;
      const double prob = sigmoid_of(double(row[p]));
      if (!(prob > threshold)) continue;
      const double centerness = sigmoid_of(double(z[n * P + p]));
      const double s = score_sqrt ? std::sqrt(prob * centerness) : prob * centerness;
      cand.push_back({s, (p - start) * K + k, p, k});
    }
  }
}
}  // namespace

std::vector<det::Detections> fcos_decode(const Tensor& cls_in, const Tensor& box_in, const Tensor& ctr_in,
                                         const Tensor& points_in, const std::vector<int64_t>& level_sizes, int64_t H,
                                         int64_t W, const det::InferenceOptions& opt, bool score_sqrt) {
  const char* op = "fcos_decode";
  check(cls_in.defined() && cls_in.dim() == 3, op, ": cls must be [N, K, P], got ",
        cls_in.defined() ? shape_str(cls_in.shape()) : std::string("undefined"));
  const int64_t N = cls_in.size(0), K = cls_in.size(1), P = cls_in.size(2);
  check(box_in.defined() && box_in.shape() == Shape{N, 4, P}, op, ": box must be [", N, ", 4, ", P, "], got ",
        box_in.defined() ? shape_str(box_in.shape()) : std::string("undefined"));
  check(ctr_in.defined() && ctr_in.shape() == Shape{N, P}, op, ": ctr must be [", N, ", ", P, "], got ",
        ctr_in.defined() ? shape_str(ctr_in.shape()) : std::string("undefined"));
  check(points_in.defined() && points_in.shape() == Shape{P, 2}, op, ": points must be [", P, ", 2], got ",
        points_in.defined() ? shape_str(points_in.shape()) : std::string("undefined"));
  check(std::accumulate(level_sizes.begin(), level_sizes.end(), int64_t{0}) == P, op,
        ": level sizes do not add up to P = ", P);
  check(H > 0 && W > 0, op, ": image size must be positive, got ", H, "x", W);
  check(opt.topk_candidates >= 0 && opt.max_detections >= 0, op, ": topk_candidates and max_detections must be >= 0");

  NoGradGuard no_grad;
  const DType out_dtype = cls_in.dtype() == DType::f64 ? DType::f64 : DType::f32;
  // cls and ctr are read in their own dtype (f32 or f64; half precision widened to f32); box and
  // points are small next to cls and read as f64.
  const DType read = cls_in.dtype() == DType::f64 && ctr_in.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor cls = cls_in.detach().to(read), ctr = ctr_in.detach().to(read);
  const Tensor box = box_in.detach().to(DType::f64), pts = points_in.detach().to(DType::f64);
  const double* b = box.data<double>();
  const double* xy = pts.data<double>();

  std::vector<det::Detections> out;
  std::vector<Candidate> cand;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<Candidate> kept;
    int64_t start = 0;
    for (int64_t size : level_sizes) {
      cand.clear();
      if (read == DType::f64)
        collect(cls.data<double>(), ctr.data<double>(), n, K, P, start, size, opt.score_threshold, score_sqrt, cand);
      else collect(cls.data<float>(), ctr.data<float>(), n, K, P, start, size, opt.score_threshold, score_sqrt, cand);
      const size_t take = std::min<size_t>(cand.size(), (size_t)opt.topk_candidates);
      auto better = [](const Candidate& a, const Candidate& o) {
        return a.score > o.score || (a.score == o.score && a.order < o.order);
      };
      std::partial_sort(cand.begin(), cand.begin() + (ptrdiff_t)take, cand.end(), better);
      kept.insert(kept.end(), cand.begin(), cand.begin() + (ptrdiff_t)take);
      start += size;
    }
    // All levels: by score, levels in order on ties (stable).
    std::stable_sort(kept.begin(), kept.end(),
                     [](const Candidate& a, const Candidate& o) { return a.score > o.score; });
    std::vector<double> boxes, scores;
    std::vector<int64_t> labels;
    for (const Candidate& q : kept) {
      const double x = xy[2 * q.p], y = xy[2 * q.p + 1];
      const double* d = b + n * 4 * P + q.p;  // l at d[0], t at d[P], r at d[2P], b at d[3P]
      boxes.push_back(std::clamp(x - d[0], 0.0, double(W)));
      boxes.push_back(std::clamp(y - d[P], 0.0, double(H)));
      boxes.push_back(std::clamp(x + d[2 * P], 0.0, double(W)));
      boxes.push_back(std::clamp(y + d[3 * P], 0.0, double(H)));
      scores.push_back(q.score);
      labels.push_back(q.k);
    }
    det::Detections d = det::make_detections(boxes, scores, labels, out_dtype);
    d = det::class_wise_nms(d, opt.nms);
    out.push_back(det::keep_first(d, opt.max_detections));
  }
  return out;
}

}  // namespace dg::fcos
