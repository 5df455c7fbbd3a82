// CenterNet heatmaps (detectors/centernet/targets.h): the two Gaussian radii, the kernel, the splat (crop, max
// merge) and the target builder, with the arithmetic in comments.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <cmath>
#include <string>

#include "detectors/centernet/targets.h"

using namespace dg;

TEST_CASE("heatmap: gaussian_radius, code vs corrected (DETECTION_NOTES numbers)") {
  // 64x64, o = 0.7. Code: case 3, a3 = 2.8, b3 = -179.2, c3 = -1228.8,
  //   sqrt(179.2^2 + 4*2.8*1228.8) = sqrt(45875.2) = 214.18497 -> (b3 + sq3)/2 = 17.49248.
  // Corrected: case 2, (b2 - sqrt(b2^2 - 4 a2 c2)) / (2 a2) = (256 - sqrt(65536 - 19660.8)) / 8 = 5.22688.
  CHECK(gaussian_radius(64, 64, 0.7, true) == doctest::Approx((-179.2 + std::sqrt(45875.2)) / 2).epsilon(1e-12));
  CHECK(gaussian_radius(64, 64, 0.7, true) == doctest::Approx(17.4925).epsilon(1e-5));
  CHECK(gaussian_radius(64, 64, 0.7, false) == doctest::Approx((256 - std::sqrt(45875.2)) / 8).epsilon(1e-12));
  CHECK(gaussian_radius(64, 64, 0.7, false) == doctest::Approx(5.2269).epsilon(1e-4));
  // 10x10: code (-28 + sqrt(784 + 336)) / 2 = 2.73320; corrected (40 - sqrt(1600 - 480)) / 8 = 0.81670.
  CHECK(gaussian_radius(10, 10, 0.7, true) == doctest::Approx((-28 + std::sqrt(1120.0)) / 2).epsilon(1e-12));
  CHECK(gaussian_radius(10, 10, 0.7, false) == doctest::Approx((40 - std::sqrt(1120.0)) / 8).epsilon(1e-12));
  // At o = 0.7 the code's radius is exactly a3 = 2.8 times the corrected case-3 root.
  for (double s : {7.0, 33.0, 120.0}) {
    const double code = gaussian_radius(s, 2 * s, 0.7, true);
    const double b3 = -1.4 * 3 * s, c3 = -0.3 * 2 * s * s, r3 = (b3 + std::sqrt(b3 * b3 - 4 * 2.8 * c3)) / 5.6;
    CHECK(code == doctest::Approx(2.8 * r3).epsilon(1e-12));
    CHECK(gaussian_radius(s, 2 * s, 0.7, false) < code);
  }
  CHECK(gaussian_radius(0, 0, 0.7, true) == 0.0);
  CHECK_THROWS_WITH_PART(gaussian_radius(-1, 2), "gaussian_radius: box size must be finite and >= 0");
  CHECK_THROWS_WITH_PART(gaussian_radius(5, 5, 1.0), "min_overlap must be in (0, 1)");
}

TEST_CASE("heatmap: gaussian_kernel values") {
  // r = 1: diameter 3, sigma = 3/6 = 0.5, 2 sigma^2 = 0.5: g(1,0) = exp(-2), g(1,1) = exp(-4).
  Tensor k = gaussian_kernel(1, DType::f64);
  CHECK(k.shape() == Shape{3, 3});
  CHECK(k.at(4) == 1.0);
  CHECK(k.at(1) == doctest::Approx(std::exp(-2.0)).epsilon(1e-15));
  CHECK(k.at(0) == doctest::Approx(std::exp(-4.0)).epsilon(1e-15));
  // r = 0: a single 1.
  CHECK(gaussian_kernel(0).to_vector() == std::vector<double>{1.0});
  // The corner of any CenterNet kernel is exp(-36 r^2 / (2r+1)^2) > exp(-9): the eps cut never fires.
  Tensor big = gaussian_kernel(50, DType::f64);
  CHECK(big.at(0) > std::exp(-9.0));
  CHECK(big.at(0) == doctest::Approx(std::exp(-36.0 * 2500 / (101.0 * 101.0))).epsilon(1e-12));
}

TEST_CASE("heatmap: draw_gaussian crops at borders and merges with max") {
  // Centre (0,0), r = 1 on a 3x4 map: only the lower-right quarter of the kernel lands.
  Tensor h = zeros({3, 4}, DType::f64);
  draw_gaussian(h, 0, 0, 0, 1);
  const double e2 = std::exp(-2.0), e4 = std::exp(-4.0);
  CHECK(h.to_vector() == std::vector<double>{1, e2, 0, 0, e2, e4, 0, 0, 0, 0, 0, 0});
  // A second splat at (1,0): cell (1,0) becomes max(e2, 1) = 1, (0,0) max(1, e2) = 1 (no sum).
  draw_gaussian(h, 0, 1, 0, 1);
  CHECK(h.at(0) == 1.0);
  CHECK(h.at(1) == 1.0);
  CHECK(h.at(2) == doctest::Approx(e2));
  CHECK(h.at(5) == doctest::Approx(e2));  // (1,1): max(e4, e2)
  // Centre outside the map: only the part inside is drawn; far outside: nothing.
  Tensor o = zeros({2, 3, 3}, DType::f32);
  draw_gaussian(o, 1, -1, 1, 1);
  CHECK(o.at(9 + 3) == doctest::Approx(e2));  // channel 1, (x=0, y=1)
  CHECK(o.at(9 + 0) == doctest::Approx(e4));
  CHECK(o.at(9 + 4) == 0.0);
  draw_gaussian(o, 0, 100, 100, 3);
  for (int i = 0; i < 9; ++i) CHECK(o.at(i) == 0.0);
  CHECK_THROWS_WITH_PART(draw_gaussian(o, 2, 0, 0, 1), "draw_gaussian: channel 2 out of range for heatmap [2,3,3]");
  Tensor bad = zeros({4}, DType::f32);
  CHECK_THROWS_WITH_PART(draw_gaussian(bad, 0, 0, 0, 1), "draw_gaussian: heatmap must be [H,W] or [C,H,W], got [4]");
}

TEST_CASE("heatmap: centernet_targets by hand") {
  // Box 0 = [9,13,41,38] class 1, stride 4 -> [2.25, 3.25, 10.25, 9.5]: w = 8, h = 6.25,
  //   centre (6.25, 6.375), cell (6, 6), index 6*32 + 6 = 198, offset (0.25, 0.375).
  //   Radius from ceil(h) = 7, ceil(w) = 8: code case 3: b3 = -21, c3 = -16.8, a3 = 2.8,
  //   (-21 + sqrt(441 + 188.16)) / 2 = 2.0416 -> 2. Corrected: case 2 (30 - sqrt(900 - 268.8)) / 8 = 0.609 -> 0.
  // Box 1 = [200, 200, 300, 300] lies outside the 128x128 input: clipped to w = h = 0, skipped (mask 0).
  // Box 2 = [-8, 0, 8, 8] class 0, partly outside: [-2, 0, 2, 2] -> clipped [0, 0, 2, 2], w = h = 2.
  Tensor boxes = from_vector({9, 13, 41, 38, 200, 200, 300, 300, -8, 0, 8, 8}, {3, 4}, DType::f32);
  Tensor labels = from_vector({1, 0, 0}, {3}, DType::i64);
  CenterNetTargetOptions opt;
  opt.num_classes = 2, opt.out_h = 32, opt.out_w = 32, opt.stride = 4, opt.max_objs = 4;
  CenterNetTargets t = centernet_targets(boxes, labels, opt);
  CHECK(t.heatmap.shape() == Shape{2, 32, 32});
  CHECK(t.wh.shape() == Shape{4, 2});
  CHECK(t.indices.dtype() == DType::i64);
  CHECK(t.mask.dtype() == DType::u8);
  CHECK(t.mask.to_vector() == std::vector<double>{1, 0, 1, 0});
  CHECK(t.indices.at(0) == 198);
  CHECK(t.wh.at(0) == 8.0);
  CHECK(t.wh.at(1) == 6.25);
  CHECK(t.offset.at(0) == 0.25);
  CHECK(t.offset.at(1) == 0.375);
  CHECK(t.indices.at(2) == 1 * 32 + 1);  // centre (1, 1)
  // Class 1 heatmap: peak 1 at (6,6), radius 2 -> sigma 5/6: (8,6) = exp(-4 / (2*25/36)) = exp(-2.88).
  const int64_t c1 = 32 * 32;
  CHECK(t.heatmap.at(c1 + 6 * 32 + 6) == 1.0f);
  CHECK(t.heatmap.at(c1 + 6 * 32 + 8) == doctest::Approx(std::exp(-2.88)).epsilon(1e-6));
  CHECK(t.heatmap.at(c1 + 6 * 32 + 9) == 0.0f);
  // Corrected radius: 0 -> only the peak.
  CenterNetTargetOptions fixed = opt;
  fixed.gaussian_radius_code = false;
  CenterNetTargets f = centernet_targets(boxes, labels, fixed);
  CHECK(f.heatmap.at(c1 + 6 * 32 + 6) == 1.0f);
  CHECK(f.heatmap.at(c1 + 6 * 32 + 7) == 0.0f);
  // Every positive cell of the heatmap is exactly 1 and sits at an index of a masked-in slot.
  int peaks = 0;
  for (int64_t i = 0; i < t.heatmap.numel(); ++i) peaks += t.heatmap.at(i) == 1.0;
  CHECK(peaks == 2);
}

TEST_CASE("heatmap: centernet_targets edge cases and errors") {
  CenterNetTargetOptions opt;
  opt.num_classes = 3, opt.out_h = 8, opt.out_w = 8, opt.max_objs = 2;
  // Zero ground truths: all zeros.
  CenterNetTargets z = centernet_targets(Tensor::empty({0, 4}, DType::f64), Tensor::empty({0}, DType::i64), opt);
  CHECK(z.heatmap.shape() == Shape{3, 8, 8});
  for (int64_t i = 0; i < z.heatmap.numel(); ++i) CHECK(z.heatmap.at(i) == 0.0);
  CHECK(z.mask.to_vector() == std::vector<double>{0, 0});
  // More boxes than max_objs: the extra ones are ignored (label 9 there is not even checked).
  Tensor b = from_vector({0, 0, 8, 8, 8, 8, 16, 16, 0, 0, 4, 4}, {3, 4}, DType::f64);
  CenterNetTargets m = centernet_targets(b, from_vector({0, 2, 9}, {3}, DType::i64), opt);
  CHECK(m.mask.to_vector() == std::vector<double>{1, 1});
  CHECK_THROWS_WITH_PART(centernet_targets(b, from_vector({0, 5, 1}, {3}, DType::i64), opt),
                         "centernet_targets: label 5 of box 1 is outside [0, 3)");
  CHECK_THROWS_WITH_PART(centernet_targets(b, from_vector({0, 1}, {2}, DType::i64), opt),
                         "labels must be [N] with N = 3 (boxes [3,4]), got [2]");
  CHECK_THROWS_WITH_PART(centernet_targets(b, from_vector({0, 1, 1}, {3}, DType::f64), opt), "labels must be integers");
}
