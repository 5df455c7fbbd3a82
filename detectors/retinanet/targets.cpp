// RetinaNet targets: retinanet_targets, retinanet_positive_anchors (see targets.h).
#include "detectors/retinanet/targets.h"

#include <algorithm>
#include <cmath>

#include "autograd/ops.h"
#include "detectors/iou.h"

namespace dg::retinanet {

namespace {

// An image's usable boxes: rows of `boxes` with w, h > 0, and their indices in `boxes`.
struct ValidBoxes {
  std::vector<double> coords;  // 4 per kept box
  std::vector<int64_t> index;  // row in the caller's list
};

ValidBoxes valid_boxes(const char* op, int64_t n, const Tensor& boxes) {
  check(boxes.defined() && boxes.dim() == 2 && boxes.size(1) == 4, op, ": boxes of image ", n, " must be [G,4], got ",
        boxes.defined() ? shape_str(boxes.shape()) : "undefined");
  const std::vector<double> b = boxes.to_vector();
  ValidBoxes v;
  for (int64_t g = 0; g < boxes.size(0); ++g) {
    const double* r = &b[(size_t)(4 * g)];
    for (int j = 0; j < 4; ++j)
      check(std::isfinite(r[j]), op, ": box ", g, " of image ", n, " has a non-finite coordinate (", r[0], ", ", r[1],
            ", ", r[2], ", ", r[3], ")");
    if (!(r[2] > r[0] && r[3] > r[1])) continue;  // zero width or height: no anchor can match it
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

std::vector<AnchorMatch> retinanet_positive_anchors(const Tensor& anchors, const std::vector<int64_t>& level_sizes,
                                                    const std::vector<int64_t>& levels, const Tensor& boxes,
                                                    const MatcherOptions& match, const Conventions& conv) {
  const char* op = "retinanet_positive_anchors";
  check(level_sizes.size() == levels.size(), op, ": ", level_sizes.size(), " level sizes for ", levels.size(),
        " levels");
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
