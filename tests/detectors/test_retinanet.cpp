// RetinaNet anchors, matcher and box coder (detectors/retinanet/): hand-computed values, the rounding
// convention, the ignore band, low-quality matches with the zero-IoU guard, encode/decode round trip,
// the dw/dh clamp, f64 gradchecks of the coder, errors. torchvision values: tests/golden/manifest_nms.json.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <cmath>
#include <string>

#include "autograd/ops.h"
#include "detectors/anchors.h"
#include "detectors/box_coder.h"
#include "detectors/matcher.h"

using namespace dg;

TEST_CASE("retinanet: cell anchors by hand, rounded (torchvision) and exact") {
  // Stride 8, base size 32, scales 2^0, 2^(1/3), 2^(2/3): torchvision sizes int(32), int(40.32), int(50.80)
  // = 32, 40, 50. Ratio 0.5 (h/w), size 32: h = 32 sqrt(0.5) = 22.627, w = 32 / sqrt(0.5) = 45.255;
  // half: 11.314, 22.627 -> rounded [-23, -11, 23, 11]. Ratio 1, size 32: [-16,-16,16,16];
  // size 40: [-20,-20,20,20]; size 50: [-25,-25,25,25]. Ratio 2, size 50: w = 35.355 h = 70.711 -> [-18,-35,18,35].
  AnchorOptions opt;
  Tensor a = cell_anchors(32, opt, DType::f64);
  CHECK(a.shape() == Shape{9, 4});
  auto row = [&](const Tensor& t, int r) {
    return std::vector<double>{t.at(4 * r), t.at(4 * r + 1), t.at(4 * r + 2), t.at(4 * r + 3)};
  };
  CHECK(row(a, 0) == std::vector<double>{-23, -11, 23, 11});
  CHECK(row(a, 3) == std::vector<double>{-16, -16, 16, 16});
  CHECK(row(a, 4) == std::vector<double>{-20, -20, 20, 20});
  CHECK(row(a, 5) == std::vector<double>{-25, -25, 25, 25});
  CHECK(row(a, 8) == std::vector<double>{-18, -35, 18, 35});
  // Exact (detectron2 / mmdet style): size 32 * 2^(1/3) = 40.3175, ratio 1 -> half 20.1587.
  AnchorOptions exact = opt;
  apply_preset(exact, "mmdet");
  CHECK_FALSE(exact.anchor_round);
  Tensor e = cell_anchors(32, exact, DType::f64);
  CHECK(e.at(4 * 4 + 2) == doctest::Approx(16 * std::pow(2.0, 1.0 / 3.0)).epsilon(1e-14));
  CHECK(e.at(0) == doctest::Approx(-16 / std::sqrt(0.5)).epsilon(1e-14));
}

TEST_CASE("retinanet: anchors over levels: count, order, shifts") {
  // Image 64x32 (H x W), strides 8, 16: level 0 has 8x4 locations, level 1 4x2; 9 anchors each.
  AnchorOptions opt;
  opt.image_h = 64, opt.image_w = 32, opt.strides = {8, 16};
  std::vector<int64_t> sizes;
  Tensor a = retinanet_anchors(opt, DType::f32, &sizes);
  CHECK(sizes == std::vector<int64_t>{8 * 4 * 9, 4 * 2 * 9});
  CHECK(a.shape() == Shape{(8 * 4 + 4 * 2) * 9, 4});
  // Location (x=1, y=0) of level 0 is the second group of 9: shifted by (8, 0).
  CHECK(a.at(4 * 9 + 0) == -23 + 8);
  CHECK(a.at(4 * 9 + 1) == -11);
  // Location (x=0, y=1): the fifth group (4 locations per row): shifted by (0, 8).
  CHECK(a.at(4 * 36 + 1) == -11 + 8);
  // Level 1 starts with base size 64: ratio 0.5 -> half sizes 45.25, 22.63 -> [-45, -23, 45, 23].
  CHECK(a.at(4 * 288 + 0) == -45);
  CHECK(a.at(4 * 288 + 1) == -23);
  // One scale, one ratio, explicit size.
  opt.scales = {1.0};
  opt.ratios = {1.0};
  opt.sizes = {10, 20};
  Tensor s = retinanet_anchors(opt, DType::f64);
  CHECK(s.shape() == Shape{32 + 8, 4});
  CHECK(s.at(0) == -5);
  CHECK(s.at(4 * 32 + 2) == 10);
  CHECK_THROWS_WITH_PART(retinanet_anchors([] {
                           AnchorOptions o;
                           o.sizes = {1};
                           return o;
                         }()),
                         "anchors: 1 sizes for 5 strides");
  CHECK_THROWS_WITH_PART(retinanet_anchors([] {
                           AnchorOptions o;
                           o.ratios = {0};
                           return o;
                         }()),
                         "aspect ratios must be positive");
}

TEST_CASE("retinanet: anchor presets") {
  AnchorOptions o;
  CHECK(o.anchor_round);  // the default is torchvision's
  apply_preset(o, "original");
  CHECK_FALSE(o.anchor_round);
  apply_preset(o, "torchvision");
  CHECK(o.anchor_round);
  CHECK_THROWS_WITH_PART(apply_preset(o, "yolo"), "anchors: unknown preset 'yolo'");
}

TEST_CASE("retinanet: matcher thresholds, ignore band, low-quality matches") {
  // iou [2 boxes, 5 anchors]:
  //   anchor 0: best box 0 at 0.6 >= 0.5 -> 0
  //   anchor 1: best box 1 at 0.5 (>= 0.5, inclusive) -> 1
  //   anchor 2: best 0.45 in [0.4, 0.5) -> ignore (-2)
  //   anchor 3: best 0.35 < 0.4 -> background (-1)
  //   anchor 4: 0 -> background
  Tensor q = from_vector({0.6, 0.45, 0.45, 0.1, 0, 0.2, 0.5, 0.3, 0.35, 0}, {2, 5}, DType::f64);
  MatcherOptions strict;
  strict.allow_low_quality = false;
  CHECK(retinanet_match(q, strict).to_vector() == std::vector<double>{0, 1, -2, -1, -1});
  CHECK(retinanet_match(q).to_vector() == std::vector<double>{0, 1, -2, -1, -1});  // both boxes have a >= 0.5 anchor
  // Box 1 whose best IoU is only 0.35 (anchors 1 and 3 tie): both become positive, each matched to ITS
  // best box (anchor 1's best is box 0 at 0.45), as torchvision does.
  Tensor low = from_vector({0.6, 0.45, 0.1, 0.2, 0, 0.2, 0.35, 0.3, 0.35, 0}, {2, 5}, DType::f64);
  CHECK(retinanet_match(low, strict).to_vector() == std::vector<double>{0, -2, -1, -1, -1});
  CHECK(retinanet_match(low).to_vector() == std::vector<double>{0, 0, -1, 1, -1});
  // Zero-IoU guard: box 1 overlaps nothing. Without the guard anchors 3 and 4 (IoU 0 == box 1's best)
  // would become positive; with it they stay background.
  Tensor zero = from_vector({0.6, 0.45, 0.1, 0, 0, 0, 0, 0, 0, 0}, {2, 5}, DType::f32);
  CHECK(retinanet_match(zero).to_vector() == std::vector<double>{0, -2, -1, -1, -1});
  // Zero boxes: all background. Zero anchors: empty.
  CHECK(retinanet_match(Tensor::empty({0, 3}, DType::f64)).to_vector() == std::vector<double>{-1, -1, -1});
  CHECK(retinanet_match(Tensor::empty({2, 0}, DType::f64)).numel() == 0);
  CHECK_THROWS_WITH_PART(retinanet_match(from_vector({0.1, NAN}, {1, 2}, DType::f64)),
                         "retinanet_match: iou has a NaN at box 0, anchor 1");
  CHECK_THROWS_WITH_PART(retinanet_match(from_vector({0.1}, {1}, DType::f64)), "iou must be [G, A]");
}

TEST_CASE("retinanet: matcher from boxes and anchors") {
  // Box [0,0,10,10]; anchors [0,0,10,10] (IoU 1), [5,0,15,10] (50/150 = 1/3), [0,0,10,8] (80/100 = 0.8),
  // [20,20,30,30] (0). -> 0, background, 0, background.
  Tensor b = from_vector({0, 0, 10, 10}, {1, 4}, DType::f64);
  Tensor an = from_vector({0, 0, 10, 10, 5, 0, 15, 10, 0, 0, 10, 8, 20, 20, 30, 30}, {4, 4}, DType::f64);
  CHECK(retinanet_match_boxes(b, an).to_vector() == std::vector<double>{0, -1, 0, -1});
  CHECK_THROWS_WITH_PART(retinanet_match_boxes(b, an.to(DType::f32)), "boxes and anchors must both be f32 or both f64");
}

TEST_CASE("retinanet: box coder by hand, round trip, clamp") {
  // Anchor [0,0,10,10]: w = h = 10, centre (5,5). Box [1,2,11,14]: w = 10, h = 12, centre (6, 8).
  // dx = (6-5)/10 = 0.1, dy = (8-5)/10 = 0.3, dw = log(10/10) = 0, dh = log(12/10) = 0.18232.
  Tensor an = from_vector({0, 0, 10, 10}, {1, 4}, DType::f64);
  Tensor b = from_vector({1, 2, 11, 14}, {1, 4}, DType::f64);
  Tensor d = box_encode(b, an);
  CHECK(d.at(0) == doctest::Approx(0.1).epsilon(1e-15));
  CHECK(d.at(1) == doctest::Approx(0.3).epsilon(1e-15));
  CHECK(d.at(2) == 0.0);
  CHECK(d.at(3) == doctest::Approx(std::log(1.2)).epsilon(1e-15));
  Tensor back = box_decode(d, an);
  check_close(back, b, 1e-14, "box_decode(box_encode(b))");
  // Weights (10, 10, 5, 5): dx = 10 * 0.1 = 1, dh = 5 log 1.2.
  BoxCoderOptions w;
  w.wx = w.wy = 10, w.ww = w.wh = 5;
  Tensor dw = box_encode(b, an, w);
  CHECK(dw.at(0) == doctest::Approx(1.0));
  CHECK(dw.at(3) == doctest::Approx(5 * std::log(1.2)));
  CHECK(box_decode(dw, an, w).at(3) == doctest::Approx(14.0));
  // Clamp: dw = 10 is cut to log(1000/16): width 10 * 62.5 = 625 around centre 5 -> x1 = -307.5.
  Tensor big = box_decode(from_vector({0, 0, 10, 0}, {1, 4}, DType::f64), an);
  CHECK(big.at(0) == doctest::Approx(5 - 312.5));
  CHECK(big.at(2) == doctest::Approx(5 + 312.5));
  CHECK_THROWS_WITH_PART(box_encode(from_vector({1, 2, 1, 14}, {1, 4}, DType::f64), an),
                         "box_encode: row 0 has a box or anchor with width or height <= 0");
  CHECK_THROWS_WITH_PART(box_decode(from_vector({0, 0, 0}, {1, 3}, DType::f64), an),
                         "box_decode: deltas and anchors must both be [N,4]");
}

GRADCHECK_TEST_CASE("retinanet: gradcheck box_encode and box_decode (f64)", "box_encode", "box_decode") {
  // Positive widths/heights, deltas below the clamp (the clamp's kink is at 4.135).
  Tensor an = from_vector({0, 0, 10, 12, 3, 4, 9, 15, -2, 1, 5, 4}, {3, 4}, DType::f64).set_requires_grad();
  Tensor b = from_vector({1, 2, 11, 14, 2, 2, 8, 13, 0, 0, 6, 6}, {3, 4}, DType::f64).set_requires_grad();
  Tensor d = from_vector({0.1, -0.3, 0.2, -0.5, 0.7, 0.05, -1.0, 0.4, -0.2, 0.3, 1.1, 0.9}, {3, 4}, DType::f64)
                 .set_requires_grad();
  BoxCoderOptions w;
  w.wx = 10, w.wy = 10, w.ww = 5, w.wh = 5;
  check_grad("box_encode", [&](const std::vector<Tensor>& x) { return box_encode(x[0], x[1], w); }, {b, an});
  check_grad("box_decode", [](const std::vector<Tensor>& x) { return box_decode(x[0], x[1]); }, {d, an});
  // Above the clamp, d(out)/d(dw) = 0.
  Tensor dd = from_vector({0, 0, 6, 0}, {1, 4}, DType::f64).set_requires_grad();
  sum(box_decode(dd, from_vector({0, 0, 10, 10}, {1, 4}, DType::f64))).backward();
  CHECK(dd.grad().at(2) == 0.0);
}
