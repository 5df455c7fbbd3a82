// FCOS targets (detectors/fcos/targets.h): points, both sides of every FCOS convention, smallest-area
// tie break, norm_on_bbox, centerness, zero boxes, errors. Expected values worked out in comments.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <cmath>
#include <string>

#include "detectors/fcos/targets.h"

using namespace dg;

namespace {
// Index of point (x, y) of a level whose first point is `first` and which is `w` points wide.
int64_t pidx(int64_t first, int64_t w, int64_t stride, double x, double y, double shift = 0) {
  return first + int64_t((y - shift) / double(stride)) * w + int64_t((x - shift) / double(stride));
}
std::vector<int64_t> positives(const FcosTargets& t) {
  std::vector<int64_t> r;
  for (int64_t p = 0; p < t.labels.numel(); ++p)
    if (t.labels.at(p) >= 0) r.push_back(p);
  return r;
}
}  // namespace

TEST_CASE("fcos_assign: points per level, both offsets") {
  FcosAssignOptions opt;
  opt.image_h = 20, opt.image_w = 36, opt.strides = {8, 16};
  std::vector<int64_t> sizes;
  // Level 0: ceil(20/8) x ceil(36/8) = 3 x 5; level 1: 2 x 3. torchvision: (x*s, y*s).
  Tensor p = fcos_points(opt, DType::f64, &sizes);
  CHECK(sizes == std::vector<int64_t>{15, 6});
  CHECK(p.shape() == Shape{21, 2});
  CHECK(p.at(2 * 6) == 8.0);  // point 6 = (x=1, y=1) of level 0
  CHECK(p.at(2 * 6 + 1) == 8.0);
  CHECK(p.at(2 * 15) == 0.0);   // first point of level 1
  CHECK(p.at(2 * 20) == 32.0);  // last point of level 1: (2*16, 1*16)
  CHECK(p.at(2 * 20 + 1) == 16.0);
  // Official/mmdet: + s//2 -> (4, 4) first, (12, 12) for point 6; level 1 starts at (8, 8).
  FcosAssignOptions mm = opt;
  apply_preset(mm, "mmdet");
  Tensor q = fcos_points(mm, DType::f64);
  CHECK(q.at(0) == 4.0);
  CHECK(q.at(2 * 6) == 12.0);
  CHECK(q.at(2 * 15) == 8.0);
}

TEST_CASE("fcos_assign: one box by hand, torchvision convention") {
  // Image 64x64, strides 8, 16: ranges (-1, 64) and (64, inf). Box [0,0,20,20] class 3.
  // Level-0 points strictly inside: x, y in {8, 16}. Centre (10,10), radius 1.5*8 = 12: all four are
  // within |dx|, |dy| < 12. m = max(l,t,r,b) = 12 at (8,8): in (-1, 64). Level 1 points inside:
  // (16,16) only, m = 16 not in (64, inf). So exactly 4 positives.
  // (8,8): l=t=8, r=b=12, centerness sqrt(8/12 * 8/12) = 2/3. (16,8): l=16 r=4 t=8 b=12:
  // sqrt(4/16 * 8/12) = sqrt(1/6) = 0.408248.
  FcosAssignOptions opt;
  opt.image_h = opt.image_w = 64, opt.strides = {8, 16};
  FcosTargets t = fcos_targets(from_vector({0, 0, 20, 20}, {1, 4}, DType::f64), from_vector({3}, {1}, DType::i64), opt);
  const int64_t p88 = pidx(0, 8, 8, 8, 8), p168 = pidx(0, 8, 8, 16, 8);
  CHECK(positives(t) == std::vector<int64_t>{p88, p168, pidx(0, 8, 8, 8, 16), pidx(0, 8, 8, 16, 16)});
  CHECK(t.labels.at(p88) == 3);
  CHECK(t.matched.at(p88) == 0);
  CHECK(t.ltrb.at(4 * p88) == 8.0);
  CHECK(t.ltrb.at(4 * p88 + 2) == 12.0);
  CHECK(t.centerness.at(p88) == doctest::Approx(2.0 / 3.0).epsilon(1e-14));
  CHECK(t.centerness.at(p168) == doctest::Approx(std::sqrt(1.0 / 6.0)).epsilon(1e-14));
  CHECK(t.labels.at(0) == -1);
  CHECK(t.matched.at(0) == -1);
  CHECK(t.centerness.at(0) == 0.0);
  // norm_on_bbox: ltrb / 8, centerness unchanged.
  FcosAssignOptions norm = opt;
  norm.norm_on_bbox = true;
  FcosTargets n = fcos_targets(from_vector({0, 0, 20, 20}, {1, 4}, DType::f64), from_vector({3}, {1}, DType::i64),
                               norm);
  CHECK(n.ltrb.at(4 * p88) == 1.0);
  CHECK(n.ltrb.at(4 * p88 + 3) == 1.5);
  CHECK(n.centerness.at(p88) == t.centerness.at(p88));
}

TEST_CASE("fcos_assign: original convention (half-stride points, no centre sampling)") {
  // Points at x*8 + 4. Box [0,0,20,20]: inside x, y in {4, 12} (20 is not < 20). No centre sampling.
  // (4,4): l=t=4, r=b=16, centerness 4/16 = 0.25.
  FcosAssignOptions opt;
  opt.image_h = opt.image_w = 64, opt.strides = {8, 16};
  apply_preset(opt, "original");
  CHECK_FALSE(opt.center_sampling);
  FcosTargets t = fcos_targets(from_vector({0, 0, 20, 20}, {1, 4}, DType::f32), from_vector({1}, {1}, DType::i64), opt);
  CHECK(positives(t) == std::vector<int64_t>{0, 1, 8, 9});
  CHECK(t.centerness.at(0) == doctest::Approx(0.25));
  CHECK(t.ltrb.at(2) == 16.0f);
  // Centre sampling on, radius 0.5 (4 px): only points with |x-10| < 4 and |y-10| < 4: (12,12) alone.
  opt.center_sampling = true;
  opt.center_radius = 0.5;
  FcosTargets c = fcos_targets(from_vector({0, 0, 20, 20}, {1, 4}, DType::f32), from_vector({1}, {1}, DType::i64), opt);
  CHECK(positives(c) == std::vector<int64_t>{9});
}

TEST_CASE("fcos_assign: range boundary, inclusive vs strict") {
  // Image 128, strides 8 and 16, ranges (-1,64), (64,inf). Box [0,0,128,128], no centre sampling.
  // torchvision points: level-0 point (64,64) has l=t=r=b=64, m = 64: strict -> not in (-1,64);
  // inclusive -> in [-1,64]. Level-1 point (64,64): m = 64: strict not in (64,inf), inclusive yes.
  FcosAssignOptions strict;
  strict.image_h = strict.image_w = 128, strict.strides = {8, 16};
  strict.center_sampling = false;
  FcosAssignOptions incl = strict;
  incl.range_inclusive = true;
  Tensor b = from_vector({0, 0, 128, 128}, {1, 4}, DType::f64);
  Tensor l = from_vector({0}, {1}, DType::i64);
  const int64_t lvl0 = pidx(0, 16, 8, 64, 64), lvl1 = pidx(256, 8, 16, 64, 64);
  FcosTargets s = fcos_targets(b, l, strict), i = fcos_targets(b, l, incl);
  CHECK(s.labels.at(lvl0) == -1);
  CHECK(s.labels.at(lvl1) == -1);
  CHECK(i.labels.at(lvl0) == 0);
  CHECK(i.labels.at(lvl1) == 0);
  // A neighbour (56,64) of level 0: m = max(56,64,72,64) = 72 > 64: background either way.
  CHECK(i.labels.at(pidx(0, 16, 8, 56, 64)) == -1);
  // Explicit ranges override the defaults: (0, 1000) on level 0 takes the point under both rules.
  strict.ranges = {{0, 1000}, {1000, 2000}};
  CHECK(fcos_targets(b, l, strict).labels.at(lvl0) == 0);
}

TEST_CASE("fcos_assign: several candidates: smallest area wins, equal areas the lower index") {
  // Point (16,16) of level 0 (torchvision, no centre sampling) lies in all three boxes:
  // box 0 [0,0,40,40] area 1600, box 1 [8,8,30,30] area 484, box 2 [10,10,32,32] area 484.
  // Boxes 1 and 2 tie on area -> box 1 (lower index).
  FcosAssignOptions opt;
  opt.image_h = opt.image_w = 64, opt.strides = {8};
  opt.center_sampling = false;
  Tensor b = from_vector({0, 0, 40, 40, 8, 8, 30, 30, 10, 10, 32, 32}, {3, 4}, DType::f64);
  FcosTargets t = fcos_targets(b, from_vector({5, 6, 7}, {3}, DType::i64), opt);
  const int64_t p = pidx(0, 8, 8, 16, 16);
  CHECK(t.matched.at(p) == 1);
  CHECK(t.labels.at(p) == 6);
  // Point (8,8) is on box 1's border (l = 0, not inside): box 0 wins there.
  CHECK(t.matched.at(pidx(0, 8, 8, 8, 8)) == 0);
}

TEST_CASE("fcos_assign: zero boxes, degenerate and outside boxes, errors") {
  FcosAssignOptions opt;
  opt.image_h = opt.image_w = 32, opt.strides = {8, 16};
  FcosTargets z = fcos_targets(Tensor::empty({0, 4}, DType::f32), Tensor::empty({0}, DType::i64), opt);
  CHECK(z.labels.numel() == 16 + 4);
  CHECK(positives(z).empty());
  // A zero-width box contains no point; a box outside the image reaches no point.
  Tensor b = from_vector({8, 0, 8, 30, 100, 100, 140, 140}, {2, 4}, DType::f32);
  CHECK(positives(fcos_targets(b, from_vector({0, 1}, {2}, DType::i64), opt)).empty());
  CHECK_THROWS_WITH_PART(fcos_targets(b, from_vector({0}, {1}, DType::i64), opt),
                         "fcos_targets: labels must be [G] with G = 2");
  CHECK_THROWS_WITH_PART(fcos_targets(from_vector({0, 0, 1}, {1, 3}, DType::f32), from_vector({0}, {1}, DType::i64),
                                      opt),
                         "fcos_targets: boxes must be [G,4], got [1,3]");
  CHECK_THROWS_WITH_PART(fcos_targets(from_vector({0, 0, NAN, 1}, {1, 4}, DType::f32),
                                      from_vector({0}, {1}, DType::i64), opt),
                         "non-finite coordinate");
  opt.ranges = {{0, 1}};
  CHECK_THROWS_WITH_PART(fcos_targets(b, from_vector({0, 1}, {2}, DType::i64), opt),
                         "fcos_targets: 1 ranges for 2 strides");
  opt.ranges.clear();
  opt.strides = {0};
  CHECK_THROWS_WITH_PART(fcos_targets(b, from_vector({0, 1}, {2}, DType::i64), opt), "strides must be positive");
}

TEST_CASE("fcos_assign: presets set the convention fields and keep the geometry") {
  FcosAssignOptions o;
  o.image_h = 96, o.strides = {8, 16, 32};
  const FcosAssignOptions tv = o;
  CHECK_FALSE(tv.half_stride_offset);  // the defaults are torchvision's
  CHECK_FALSE(tv.range_inclusive);
  CHECK(tv.center_sampling);
  CHECK(tv.center_radius == 1.5);
  CHECK_FALSE(tv.norm_on_bbox);
  for (const char* p : {"mmdet", "original"}) {
    CAPTURE(p);
    apply_preset(o, p);
    CHECK(o.half_stride_offset);
    CHECK(o.range_inclusive);
    CHECK_FALSE(o.center_sampling);
    CHECK(o.center_radius == 1.5);
    CHECK_FALSE(o.norm_on_bbox);
    CHECK(o.image_h == 96);
    CHECK(o.strides == std::vector<int64_t>{8, 16, 32});
  }
  apply_preset(o, "torchvision");
  CHECK(o.half_stride_offset == tv.half_stride_offset);
  CHECK(o.range_inclusive == tv.range_inclusive);
  CHECK(o.center_sampling == tv.center_sampling);
  CHECK_THROWS_WITH_PART(apply_preset(o, "detectron"),
                         "fcos assignment: unknown preset 'detectron' (known presets: torchvision, mmdet, original)");
}
