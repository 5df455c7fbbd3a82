#include "detectors/detections.h"

#include <algorithm>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "detectors/nms.h"

namespace dg::det {

Detections make_detections(const std::vector<double>& boxes, const std::vector<double>& scores,
                           const std::vector<int64_t>& labels, DType dtype) {
  const int64_t m = (int64_t)scores.size();
  check((int64_t)boxes.size() == 4 * m && (int64_t)labels.size() == m, "make_detections: ", boxes.size(),
        " box coordinates, ", scores.size(), " scores and ", labels.size(), " labels do not describe the same boxes");
  std::vector<double> lab(labels.begin(), labels.end());
  return {from_vector(boxes, {m, 4}, dtype), from_vector(scores, {m}, dtype), from_vector(lab, {m}, DType::i64)};
}

Detections empty_detections(DType dtype) { return make_detections({}, {}, {}, dtype); }

PostNms post_nms_from_name(const std::string& name) {
  if (name == "none") return PostNms::none;
  if (name == "hard") return PostNms::hard;
  if (name == "soft-linear") return PostNms::soft_linear;
  if (name == "soft-gaussian") return PostNms::soft_gaussian;
  if (name == "diou") return PostNms::diou;
  fail("unknown NMS '", name, "' (none, hard, soft-linear, soft-gaussian, diou)");
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
struct Row {
  double b[4], score;
  int64_t label;
};

std::vector<Row> rows_of(const Detections& d) {
  std::vector<Row> r((size_t)d.size());
  if (r.empty()) return r;
  const std::vector<double> b = d.boxes.to_vector(), s = d.scores.to_vector(), l = d.labels.to_vector();
  for (size_t i = 0; i < r.size(); ++i) {
    std::copy(b.begin() + 4 * i, b.begin() + 4 * i + 4, r[i].b);
    r[i].score = s[i];
    r[i].label = (int64_t)l[i];
  }
  return r;
}

Detections from_rows(const std::vector<Row>& rows, DType dt) {
  std::vector<double> b, s;
  std::vector<int64_t> l;
  for (const Row& r : rows) {
    b.insert(b.end(), r.b, r.b + 4);
    s.push_back(r.score);
    l.push_back(r.label);
  }
  return make_detections(b, s, l, dt);
}
}  // namespace

Detections class_wise_nms(const Detections& d, const NmsOptions& opt) {
  if (opt.kind == PostNms::none || d.size() == 0) return d;
  const std::vector<Row> rows = rows_of(d);
  std::vector<int64_t> classes;
  for (const Row& r : rows) classes.push_back(r.label);
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  std::vector<Row> out;
  for (int64_t c : classes) {
    std::vector<Row> group;
    for (const Row& r : rows)
      if (r.label == c) group.push_back(r);
    std::vector<double> b, s;
    for (const Row& r : group) {
      b.insert(b.end(), r.b, r.b + 4);
      s.push_back(r.score);
    }
    const int64_t m = (int64_t)group.size();
    Tensor boxes = from_vector(b, {m, 4}, DType::f64), scores = from_vector(s, {m}, DType::f64);
    if (opt.kind == PostNms::hard || opt.kind == PostNms::diou) {
      Tensor keep = opt.kind == PostNms::hard ? nms(boxes, scores, opt.iou) : diou_nms(boxes, scores, opt.iou);
      for (double i : keep.to_vector()) out.push_back(group[(size_t)i]);
    } else {
      SoftNmsOptions so;
      so.method = opt.kind == PostNms::soft_linear ? SoftNmsMethod::linear : SoftNmsMethod::gaussian;
      so.sigma = opt.soft_sigma;
      so.iou_threshold = opt.iou;
      so.score_threshold = opt.soft_min_score;
      SoftNmsResult r = soft_nms(boxes, scores, so);
      const std::vector<double> idx = r.indices.to_vector(), sc = r.scores.to_vector();
      for (size_t j = 0; j < idx.size(); ++j) {
        Row row = group[(size_t)idx[j]];
        row.score = sc[j];
        out.push_back(row);
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Row& a, const Row& b) { return a.score > b.score; });
  return from_rows(out, d.scores.dtype());
}

Detections map_boxes(const Detections& d, const Affine& a) {
  std::vector<Row> rows = rows_of(d);
  for (Row& r : rows) {
    const double x1 = r.b[0], y1 = r.b[1], x2 = r.b[2], y2 = r.b[3];
    r.b[0] = a[0] * x1 + a[1] * y1 + a[2];
    r.b[1] = a[3] * x1 + a[4] * y1 + a[5];
    r.b[2] = a[0] * x2 + a[1] * y2 + a[2];
    r.b[3] = a[3] * x2 + a[4] * y2 + a[5];
  }
  return from_rows(rows, d.size() ? d.scores.dtype() : DType::f32);
}

Detections boxes_to_image(const Detections& d, const Affine& a, int64_t height, int64_t width) {
  check(height > 0 && width > 0, "boxes_to_image: image size must be positive, got ", height, "x", width);
  const Detections m = map_boxes(d, a);
  std::vector<Row> rows;
  for (Row r : rows_of(m)) {
    r.b[0] = std::clamp(r.b[0], 0.0, (double)width), r.b[2] = std::clamp(r.b[2], 0.0, (double)width);
    r.b[1] = std::clamp(r.b[1], 0.0, (double)height), r.b[3] = std::clamp(r.b[3], 0.0, (double)height);
    if (r.b[2] > r.b[0] && r.b[3] > r.b[1]) rows.push_back(r);
  }
  return from_rows(rows, d.size() ? d.scores.dtype() : DType::f32);
}

Detections keep_first(const Detections& d, int64_t k) {
  if (d.size() <= k) return d;
  std::vector<Row> rows = rows_of(d);
  rows.resize((size_t)std::max<int64_t>(0, k));
  return from_rows(rows, d.scores.dtype());
}

}  // namespace dg::det
