// FCOS target assignment (see targets.h). Legend: L levels, P points over all levels, G boxes,
// s = a level's stride, (x, y) a point in input pixels, (l, t, r, b) its distances to a box's sides.
#include "detectors/fcos/targets.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "detectors/conventions.h"

namespace dg {

namespace {
// The FCOS paper's ranges: level l regresses objects with max(l,t,r,b) in [4s, 8s]; the first level
// starts at -1 (everything small) and the last ends at infinity (everything big).
std::vector<std::pair<double, double>> level_ranges(const FcosAssignOptions& opt) {
  if (!opt.ranges.empty()) {
    check(opt.ranges.size() == opt.strides.size(), "fcos_targets: ", opt.ranges.size(), " ranges for ",
          opt.strides.size(), " strides");
    return opt.ranges;
  }
  std::vector<std::pair<double, double>> r;
  const size_t L = opt.strides.size();
  for (size_t l = 0; l < L; ++l) {
    const double s = double(opt.strides[l]);
    r.push_back({l == 0 ? -1.0 : 4 * s, l + 1 == L ? std::numeric_limits<double>::infinity() : 8 * s});
  }
  return r;
}

void check_options(const char* op, const FcosAssignOptions& opt) {
  check(opt.image_h > 0 && opt.image_w > 0, op, ": image size must be positive, got ", opt.image_h, "x", opt.image_w);
  check(!opt.strides.empty(), op, ": need at least one stride");
  for (int64_t s : opt.strides) check(s > 0, op, ": strides must be positive, got ", s);
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

// torchvision is the struct's defaults; the others list what differs (../shared/DETECTION_NOTES.md).
void apply_preset(FcosAssignOptions& opt, const std::string& preset) {
  check_convention_preset("fcos assignment", preset);
  const FcosAssignOptions tv;
  opt.half_stride_offset = preset != "torchvision";  // official and mmdet: points at x*s + s//2
  opt.range_inclusive = preset != "torchvision";     // official and mmdet: lo <= m <= hi
  opt.center_sampling = preset == "torchvision";     // off in the official and mmdet default configs
  opt.center_radius = tv.center_radius;
  opt.norm_on_bbox = tv.norm_on_bbox;  // on only in the improved ("imprv") configs
}

Tensor fcos_points(const FcosAssignOptions& opt, DType dtype, std::vector<int64_t>* level_sizes) {
  check_options("fcos_points", opt);
  check(dtype == DType::f32 || dtype == DType::f64, "fcos_points: dtype must be f32 or f64, got ", dtype_name(dtype));
  std::vector<double> xy;
  if (level_sizes) level_sizes->clear();
  for (int64_t s : opt.strides) {
    const int64_t h = ceil_div(opt.image_h, s), w = ceil_div(opt.image_w, s);
    // Official FCOS / mmdet: the centre of the cell's receptive field s//2 (integer division);
    // torchvision: the cell's top-left corner.
    const double shift = opt.half_stride_offset ? double(s / 2) : 0.0;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        xy.push_back(double(x * s) + shift);
        xy.push_back(double(y * s) + shift);
      }
    if (level_sizes) level_sizes->push_back(h * w);
  }
  return from_vector(xy, {(int64_t)xy.size() / 2, 2}, dtype);
}

namespace {
template <class T>
void assign(const T* b, const Tensor& labels, int64_t G, const FcosAssignOptions& opt,
            const std::vector<int64_t>& level_sizes, FcosTargets& t) {
  const auto ranges = level_ranges(opt);
  const T* pts = t.points.data<T>();
  int64_t* lab = t.labels.data<int64_t>();
  int64_t* match = t.matched.data<int64_t>();
  T* ltrb = t.ltrb.data<T>();
  T* ctr = t.centerness.data<T>();
  std::vector<T> area((size_t)G);
  for (int64_t g = 0; g < G; ++g) area[(size_t)g] = (b[4 * g + 2] - b[4 * g]) * (b[4 * g + 3] - b[4 * g + 1]);
  int64_t p = 0;
  for (size_t lvl = 0; lvl < level_sizes.size(); ++lvl) {
    const T s = T(opt.strides[lvl]);
    const T radius = T(opt.center_radius) * s;
    const double lo = ranges[lvl].first, hi = ranges[lvl].second;
    for (int64_t k = 0; k < level_sizes[lvl]; ++k, ++p) {
      const T x = pts[2 * p], y = pts[2 * p + 1];
      int64_t best = -1;
      for (int64_t g = 0; g < G; ++g) {
        const T* bg = b + 4 * g;
        const T l = x - bg[0], tt = y - bg[1], r = bg[2] - x, bb = bg[3] - y;
        if (!(std::min({l, tt, r, bb}) > T(0))) continue;  // 1. strictly inside
        if (opt.center_sampling) {                         // 2. near the centre
          const T cx = (bg[0] + bg[2]) / T(2), cy = (bg[1] + bg[3]) / T(2);
          if (!(std::abs(x - cx) < radius && std::abs(y - cy) < radius)) continue;
        }
        const double m = double(std::max({l, tt, r, bb}));  // 3. the level's scale
        const bool in_range = opt.range_inclusive ? (lo <= m && m <= hi) : (lo < m && m < hi);
        if (!in_range) continue;
        if (best < 0 || area[(size_t)g] < area[(size_t)best]) best = g;  // smallest area, first on ties
      }
      match[p] = best;
      lab[p] = best < 0 ? -1 : (int64_t)labels.at(best);
      if (best < 0) continue;
      const T* bg = b + 4 * best;
      T l = x - bg[0], tt = y - bg[1], r = bg[2] - x, bb = bg[3] - y;
      // Centerness (FCOS Eq. 3): 1 at the box centre, -> 0 at its sides; scale-free, so it is the
      // same before and after dividing by the stride.
      ctr[p] = std::sqrt((std::min(l, r) / std::max(l, r)) * (std::min(tt, bb) / std::max(tt, bb)));
      if (opt.norm_on_bbox) l /= s, tt /= s, r /= s, bb /= s;
      ltrb[4 * p] = l, ltrb[4 * p + 1] = tt, ltrb[4 * p + 2] = r, ltrb[4 * p + 3] = bb;
    }
  }
}
}  // namespace

FcosTargets fcos_targets(const Tensor& boxes, const Tensor& labels, const FcosAssignOptions& opt) {
  const char* op = "fcos_targets";
  check_options(op, opt);
  check(boxes.defined() && boxes.dim() == 2 && boxes.size(1) == 4, op, ": boxes must be [G,4], got ",
        boxes.defined() ? shape_str(boxes.shape()) : "undefined");
  check(boxes.dtype() == DType::f32 || boxes.dtype() == DType::f64, op, ": boxes must be f32 or f64, got ",
        dtype_name(boxes.dtype()));
  check(labels.defined() && labels.dim() == 1 && labels.size(0) == boxes.size(0), op,
        ": labels must be [G] with G = ", boxes.size(0), " (boxes ", shape_text(boxes.shape()), "), got ",
        labels.defined() ? shape_str(labels.shape()) : "undefined");
  check(!is_floating(labels.dtype()), op, ": labels must be integers (i64), got ", dtype_name(labels.dtype()));
  for (int64_t i = 0; i < boxes.numel(); ++i)
    check(std::isfinite(boxes.at(i)), op, ": box ", i / 4, " has a non-finite coordinate (boxes ",
          shape_text(boxes.shape()), ")");
  std::vector<int64_t> sizes;
  FcosTargets t;
  t.points = fcos_points(opt, boxes.dtype(), &sizes);
  const int64_t P = t.points.size(0);
  t.labels = full({P}, -1, DType::i64);
  t.matched = full({P}, -1, DType::i64);
  t.ltrb = zeros({P, 4}, boxes.dtype());
  t.centerness = zeros({P}, boxes.dtype());
  if (boxes.dtype() == DType::f32) assign<float>(boxes.data<float>(), labels, boxes.size(0), opt, sizes, t);
  else assign<double>(boxes.data<double>(), labels, boxes.size(0), opt, sizes, t);
  return t;
}

}  // namespace dg

namespace dg::fcos {

FcosBatchTargets fcos_batch_targets(const std::vector<std::vector<data::Box>>& boxes,
                                    const std::vector<std::vector<int>>& labels, int64_t K,
                                    const FcosAssignOptions& opt, DType dtype) {
  const char* op = "fcos_batch_targets";
  check(boxes.size() == labels.size(), op, ": ", boxes.size(), " box lists but ", labels.size(), " label lists");
  check(dtype == DType::f32 || dtype == DType::f64, op, ": dtype must be f32 or f64, got ", dtype_name(dtype));
  check(K >= 1, op, ": num_classes must be >= 1, got ", K);
  const int64_t N = (int64_t)boxes.size();
  std::vector<int64_t> sizes;
  const int64_t P = fcos_points(opt, DType::f64, &sizes).size(0);

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
    FcosTargets ft = fcos_targets(from_vector(bv, {G, 4}, DType::f64), from_vector(lv, {G}, DType::i64), opt);
    const int64_t* cls = ft.labels.data<int64_t>();
    const double* ltrb = ft.ltrb.data<double>();
    const double* ctr = ft.centerness.data<double>();
    for (int64_t p = 0; p < P; ++p) {
      if (cls[p] < 0) continue;
      const int64_t flat = (n * K + cls[p]) * P + p;
      if (dtype == DType::f32) t.onehot.data<float>()[flat] = 1.0f;
      else t.onehot.data<double>()[flat] = 1.0;
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

}  // namespace dg::fcos
