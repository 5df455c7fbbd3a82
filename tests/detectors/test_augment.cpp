// Detection augmentation (detectors/data/augment.h): flip involution, the affine warp moving image
// content together with its box, clipping/dropping, inverse mapping, colour jitter and errors.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <cstring>
#include <set>

#include "detectors/data/augment.h"

using namespace dg;
using namespace dg::data;

namespace {

// Black H x W image with one white rectangle [x1,x2) x [y1,y2) and its box.
Scene square_scene(int64_t H, int64_t W, int x1, int y1, int x2, int y2) {
  Scene s;
  s.image = Tensor::empty({H, W, 3}, DType::u8);
  uint8_t* p = s.image.data<uint8_t>();
  std::memset(p, 0, (size_t)(H * W * 3));
  for (int y = y1; y < y2; ++y)
    for (int x = x1; x < x2; ++x)
      for (int c = 0; c < 3; ++c) p[(y * W + x) * 3 + c] = 255;
  s.boxes = {{(float)x1, (float)y1, (float)x2, (float)y2}};
  s.labels = {3};
  return s;
}

// Bounding box of the pixels brighter than 127 (continuous coords, exclusive ends).
Box bright_box(const Tensor& img) {
  const int64_t H = img.shape()[0], W = img.shape()[1];
  const uint8_t* p = img.data<uint8_t>();
  Box b{1e9f, 1e9f, -1e9f, -1e9f};
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x)
      if (p[(y * W + x) * 3] > 127) {
        b[0] = std::min(b[0], (float)x), b[1] = std::min(b[1], (float)y);
        b[2] = std::max(b[2], (float)x + 1), b[3] = std::max(b[3], (float)y + 1);
      }
  return b;
}

}  // namespace

TEST_CASE("augment: hflip twice is the identity, boxes mirrored") {
  Scene s = square_scene(10, 16, 2, 3, 7, 9);
  s.image.data<uint8_t>()[5] = 17;  // asymmetric content
  Scene f = hflip(s);
  CHECK(f.boxes[0] == Box{9, 3, 14, 9});  // x1' = W - x2, x2' = W - x1
  CHECK(bright_box(f.image) == f.boxes[0]);
  Scene ff = hflip(f);
  CHECK(std::memcmp(ff.image.data<uint8_t>(), s.image.data<uint8_t>(), 10 * 16 * 3) == 0);
  CHECK(ff.boxes == s.boxes);
  CHECK(ff.labels == s.labels);
}

TEST_CASE("augment: affine warp moves a bright square with its box") {
  Scene s = square_scene(40, 60, 20, 10, 32, 22);
  AugmentConfig cfg;
  cfg.color = false;
  cfg.out_height = 48, cfg.out_width = 48;
  cfg.scale_lo = 0.7, cfg.scale_hi = 1.3, cfg.shift = 0.1;
  int flips = 0;
  std::set<float> widths;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    Generator g(seed);
    Augmented a = augment(s, cfg, g);
    REQUIRE(a.scene.boxes.size() == 1);
    flips += a.flipped;
    widths.insert(a.scene.boxes[0][2] - a.scene.boxes[0][0]);
    CHECK(a.scene.labels == std::vector<int>{3});
    Box img = bright_box(a.scene.image), box = a.scene.boxes[0];
    for (int k = 0; k < 4; ++k) CHECK(std::abs(img[k] - box[k]) <= 1.0f);  // pixel-level agreement
    // The inverse transform takes the box back to the original one.
    Box back = map_box(invert(a.transform), box);
    for (int k = 0; k < 4; ++k) CHECK(back[k] == doctest::Approx(s.boxes[0][k]).epsilon(1e-4));
  }
  CHECK(flips > 0);  // the seeds exercise both flip states and several scales
  CHECK(flips < 8);
  CHECK(widths.size() > 4);
}

TEST_CASE("augment: deterministic letterbox without random parts") {
  Scene s = square_scene(20, 40, 10, 5, 20, 15);
  AugmentConfig cfg;
  cfg.flip = cfg.random_affine = cfg.color = false;
  cfg.out_height = cfg.out_width = 20;  // 40 wide -> scale 0.5, 20 high -> rows 5..15
  Generator g(1);
  Augmented a = augment(s, cfg, g);
  CHECK(a.scene.boxes[0] == Box{5, 7.5f, 10, 12.5f});
  CHECK(!a.flipped);
}

TEST_CASE("augment: boxes are clipped to the output and tiny or outside ones dropped") {
  Affine shift;  // x + 10
  shift.tx = 10;
  std::vector<Box> boxes = {{-20, 2, -12, 8}, {-5, 2, 15, 8}, {25, 2, 29.5f, 8}, {1, 1, 3, 1.5f}, {0, 0, 4, 4}};
  std::vector<int64_t> kept;
  auto r = transform_boxes(boxes, shift, 20, 40, 1.0f, &kept);
  // box 0 -> [-10,-2]: outside; box 1 -> [5,25]; box 2 -> [35,39.5]; box 3: 0.5 px high; box 4 -> [10,14]
  REQUIRE(r.size() == 3);
  CHECK(kept == std::vector<int64_t>{1, 2, 4});
  CHECK(r[0] == Box{5, 2, 25, 8});
  CHECK(r[1] == Box{35, 2, 39.5f, 8});
  auto r2 = transform_boxes({{30, 2, 45, 30}}, shift, 20, 40, 1.0f);  // clipped to [40, 20] -> x 40..40: dropped
  CHECK(r2.empty());
  auto r3 = transform_boxes({{25, 2, 45, 30}}, shift, 20, 40, 1.0f);
  CHECK(r3[0] == Box{35, 2, 40, 20});
}

TEST_CASE("augment: flip is included in the returned transform; colour jitter keeps geometry") {
  Scene s = square_scene(32, 32, 4, 6, 12, 20);
  AugmentConfig cfg;
  cfg.flip_prob = 1.0;
  cfg.random_affine = false;
  cfg.brightness = 0.2, cfg.contrast = 0.2, cfg.saturation = 0.2;
  Generator g(7);
  Augmented a = augment(s, cfg, g);
  CHECK(a.flipped);
  CHECK(a.scene.boxes[0] == Box{20, 6, 28, 20});
  CHECK(bright_box(a.scene.image) == a.scene.boxes[0]);
  // Same generator seed => same bytes.
  Generator g2(7);
  Augmented b = augment(s, cfg, g2);
  CHECK(std::memcmp(a.scene.image.data<uint8_t>(), b.scene.image.data<uint8_t>(), 32 * 32 * 3) == 0);
}

TEST_CASE("augment: compose and invert") {
  Affine m;
  m.a = 2, m.b = 0.5, m.tx = 3, m.c = -1, m.d = 1.5, m.ty = -2;
  Affine id = compose(invert(m), m);
  CHECK(id.a == doctest::Approx(1));
  CHECK(id.b == doctest::Approx(0).epsilon(1e-12));
  CHECK(id.tx == doctest::Approx(0).epsilon(1e-12));
  CHECK(id.d == doctest::Approx(1));
  auto p = compose(m, invert(m)).apply(4, -7);
  CHECK(p[0] == doctest::Approx(4));
  CHECK(p[1] == doctest::Approx(-7));
}

TEST_CASE("augment: errors name the op and shapes") {
  Scene s;
  s.image = Tensor::empty({4, 4}, DType::u8);
  Generator g(0);
  CHECK_THROWS_WITH_PART(augment(s, AugmentConfig{}, g), "augment: image must be u8 [H,W,3], got [4,4]");
  Scene t = square_scene(4, 4, 0, 0, 2, 2);
  t.labels.clear();
  CHECK_THROWS_WITH_PART(hflip(t), "hflip: 1 boxes but 0 labels");
  AugmentConfig bad;
  bad.scale_lo = 2, bad.scale_hi = 1;
  CHECK_THROWS_WITH_PART(augment(square_scene(4, 4, 0, 0, 2, 2), bad, g), "augment: need 0 < scale_lo <= scale_hi");
  Affine zero;
  zero.a = zero.d = 0;
  CHECK_THROWS_WITH_PART(invert(zero), "affine invert: singular matrix");
}
