// Labels on the most crowded validation scene: the labels a detection picture would draw for every
// object (at the picture's scale, in the real font) are placed without two overlapping, inside the
// picture (draw.h place_labels), and the picture itself draws.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <string>
#include <vector>

#include "detectors/data/dataset.h"
#include "detectors/detections.h"
#include "detectors/draw.h"
#include "detectors/visualize.h"

using namespace dg;

TEST_CASE("place_labels: the most crowded of 300 validation scenes (standard preset) gets no overlapping labels") {
  data::DatasetSpec spec;
  spec.preset = "standard";
  spec.size = 300;
  data::Dataset ds = data::open_dataset(spec, data::Split::val);
  int64_t best = 0;
  size_t most = 0;
  for (int64_t i = 0; i < ds.size; ++i) {
    const size_t n = ds.get(i).boxes.size();
    if (n > most) most = n, best = i;
  }
  const data::Scene s = ds.get(best);
  MESSAGE("scene " << best << " has " << most << " objects");
  CHECK(most >= 6);
  const int scale = det::PictureOptions{}.scale;
  std::vector<std::array<double, 4>> boxes;
  std::vector<std::pair<int64_t, int64_t>> sizes;
  for (size_t k = 0; k < s.boxes.size(); ++k) {
    const auto& b = s.boxes[k];
    boxes.push_back({b[0] * scale, b[1] * scale, b[2] * scale, b[3] * scale});
    sizes.push_back(label_size(ds.class_names[(size_t)s.labels[k]] + " 0.87"));
  }
  const int64_t W = s.image.size(1) * scale, H = s.image.size(0) * scale;
  const std::vector<LabelSpot> spots = place_labels(boxes, sizes, W, H);
  int64_t placed = 0;
  for (size_t i = 0; i < spots.size(); ++i) {
    if (!spots[i].placed) continue;
    ++placed;
    const LabelSpot& a = spots[i];
    CHECK(a.x >= 0);
    CHECK(a.y >= 0);
    CHECK(a.x + a.w <= W);
    CHECK(a.y + a.h <= H);
    for (size_t j = 0; j < i; ++j) {
      if (!spots[j].placed) continue;
      const LabelSpot& b = spots[j];
      const bool overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
      CHECK_FALSE_MESSAGE(overlap, "labels " << i << " and " << j);
    }
  }
  CHECK(placed == (int64_t)spots.size());  // on this scene every label finds a free spot
  // The picture of those objects as detections draws.
  std::vector<double> bv, sv, lv;
  for (size_t k = 0; k < s.boxes.size(); ++k) {
    for (float c : s.boxes[k]) bv.push_back(c);
    sv.push_back(0.9 - 0.01 * (double)k);
    lv.push_back(s.labels[k]);
  }
  const int64_t n = (int64_t)s.boxes.size();
  det::Detections d{from_vector(bv, {n, 4}), from_vector(sv, {n}), from_vector(lv, {n}, DType::i64)};
  const Tensor pic = det::detection_picture(s.image, d, ds.class_names);
  CHECK(pic.size(0) == H);
  CHECK(pic.size(1) == W);
}
