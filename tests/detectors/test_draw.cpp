// Drawing (detectors/draw.h): boxes, text and labels clip at the borders, the font covers ASCII
// 32..126, palette, heatmap overlay and tiling; wrong inputs give errors naming the function.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <tuple>

#include "detectors/draw.h"
#include "detectors/font.h"
#include "tests/support.h"

using namespace dg;

namespace {
Tensor canvas(int64_t h, int64_t w, uint8_t v = 0) {
  Tensor t = Tensor::empty({h, w, 3}, DType::u8);
  std::fill(t.data<uint8_t>(), t.data<uint8_t>() + t.numel(), v);
  return t;
}
Rgb px(const Tensor& t, int64_t y, int64_t x) {
  const uint8_t* p = t.data<uint8_t>() + (y * t.size(1) + x) * 3;
  return {p[0], p[1], p[2]};
}
bool eq(Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }
int64_t count(const Tensor& t, Rgb c) {
  int64_t n = 0;
  for (int64_t y = 0; y < t.size(0); ++y)
    for (int64_t x = 0; x < t.size(1); ++x) n += eq(px(t, y, x), c);
  return n;
}
const Rgb kRed{255, 0, 0}, kBlack{0, 0, 0}, kWhite{255, 255, 255};
}  // namespace

TEST_CASE("draw_box: outline inside the box, thickness, clipping") {
  Tensor img = canvas(10, 12);
  draw_box(img, 2, 3, 8, 9, kRed, 2);  // pixels x 2..7, y 3..8
  CHECK(eq(px(img, 3, 2), kRed));
  CHECK(eq(px(img, 8, 7), kRed));
  CHECK(eq(px(img, 4, 3), kRed));    // second ring
  CHECK(eq(px(img, 5, 4), kBlack));  // interior
  CHECK(eq(px(img, 2, 2), kBlack));  // just outside
  CHECK(eq(px(img, 9, 8), kBlack));
  CHECK(count(img, kRed) == 6 * 6 - 2 * 2);

  // Partly outside: only the visible part is drawn, no crash.
  Tensor a = canvas(8, 8);
  draw_box(a, -5, -5, 4, 4, kRed, 1);  // visible edges: right column x=3 and bottom row y=3
  CHECK(count(a, kRed) == 7);
  CHECK(eq(px(a, 0, 3), kRed));
  CHECK(eq(px(a, 3, 0), kRed));
  // Wholly outside and huge coordinates: nothing drawn.
  Tensor b = canvas(8, 8);
  draw_box(b, 20, 20, 30, 30, kRed);
  draw_box(b, -1e30, -1e30, -1e20, -1e20, kRed);
  CHECK(count(b, kRed) == 0);
  // A box larger than the image: only the parts of its edges inside the image are drawn.
  draw_box(b, -2, -2, 10, 10, kRed, 3);
  CHECK(count(b, kRed) == 64 - 6 * 6);  // only the outer 1-pixel ring of its 3-pixel edges shows

  CHECK_THROWS_WITH_PART(draw_box(b, 0, 0, 1, 1, kRed, 0), "draw_box: thickness must be >= 1, got 0");
  Tensor f = Tensor::empty({4, 4, 3}, DType::f32);
  CHECK_THROWS_WITH_PART(draw_box(f, 0, 0, 1, 1, kRed), "draw_box: expected a u8 [H,W,3] image, got f32 [4,4,3]");
  Tensor g = Tensor::empty({4, 4}, DType::u8);
  CHECK_THROWS_WITH_PART(fill_rect(g, 0, 0, 1, 1, kRed), "fill_rect: expected a u8 [H,W,3] image, got u8 [4,4]");
}

TEST_CASE("draw_bitmap_text: glyphs, scale and clipping at the edges") {
  CHECK(bitmap_text_width("abc") == 18);
  CHECK(bitmap_text_width("abc", 2) == 36);
  CHECK(bitmap_text_height(3) == 24);

  // '|' is a single 7-pixel column; at scale 2 it is 2x14.
  Tensor img = canvas(20, 20);
  draw_bitmap_text(img, 0, 0, "|", kWhite);
  CHECK(count(img, kWhite) == 7);
  CHECK(eq(px(img, 0, 2), kWhite));
  Tensor s2 = canvas(20, 20);
  draw_bitmap_text(s2, 0, 0, "|", kWhite, 2);
  CHECK(count(s2, kWhite) == 28);

  // Every printable glyph but ' ' draws something, inside its 5x7 box.
  for (int ch = 33; ch <= 126; ++ch) {
    Tensor c = canvas(kCellH, kCellW);
    draw_bitmap_text(c, 0, 0, std::string(1, (char)ch), kWhite);
    const int64_t n = count(c, kWhite);
    CHECK_MESSAGE(n > 0, "glyph " << ch);
    for (int64_t y = 0; y < kCellH; ++y) CHECK(eq(px(c, y, kCellW - 1), kBlack));  // spacing column
    for (int64_t x = 0; x < kCellW; ++x) CHECK(eq(px(c, kCellH - 1, x), kBlack));  // spacing row
  }
  // Non-ASCII characters draw as '?'.
  Tensor q1 = canvas(8, 6), q2 = canvas(8, 6);
  draw_bitmap_text(q1, 0, 0, "?", kWhite);
  draw_bitmap_text(q2, 0, 0, "\x01", kWhite);
  CHECK(std::memcmp(q1.raw(), q2.raw(), q1.nbytes()) == 0);

  // Text running off every edge: only in-image pixels change, no crash.
  Tensor e = canvas(10, 10);
  draw_bitmap_text(e, 7, 5, "HELLO", kWhite);
  draw_bitmap_text(e, -3, -4, "HELLO", kWhite);
  draw_bitmap_text(e, -1000, 1000, "X", kWhite);
  CHECK(count(e, kWhite) > 0);
  CHECK_THROWS_WITH_PART(draw_bitmap_text(e, 0, 0, "a", kWhite, 0), "draw_bitmap_text: scale must be >= 1, got 0");
}

TEST_CASE("draw_text: TrueType DejaVu Sans, anti-aliased, proportional, clipped") {
  REQUIRE_MESSAGE(truetype_available(), truetype_status());  // install.sh installs fonts-dejavu-core
  CHECK(text_height(1) == line_height(kTextPx));
  CHECK(text_height(2) > text_height(1));
  CHECK(text_width("iii") < text_width("WWW"));  // proportional, unlike the bitmap font
  CHECK(text_width("abc", 2) >= 2 * text_width("abc") - 2);
  CHECK(text_width("") == 0);
  // The ink lies inside the line box [x, x + width) x [y, y + height), and partly covered pixels
  // are blended (grey between black and white).
  Tensor img = canvas(40, 80);
  draw_text(img, 5, 10, "Bag 0.87", kWhite);
  const int64_t w = text_width("Bag 0.87"), h = text_height();
  int64_t ink = 0, grey = 0, outside = 0;
  for (int64_t y = 0; y < 40; ++y)
    for (int64_t x = 0; x < 80; ++x) {
      const Rgb c = px(img, y, x);
      if (c.r == 0) continue;
      ++ink;
      grey += c.r < 255;
      outside += !(x >= 5 && x < 5 + w + 1 && y >= 10 && y < 10 + h);
    }
  CHECK(ink > 30);
  CHECK(grey > 0);
  CHECK(outside == 0);
  // UTF-8 decodes (one glyph, not two); clipping at every edge never throws.
  CHECK(text_width("\xc3\xa9") == text_width("e") + (text_width("\xc3\xa9") - text_width("e")));
  CHECK(text_width("\xc3\xa9") < text_width("ee"));
  Tensor e = canvas(10, 10);
  draw_text(e, 7, 5, "HELLO", kWhite);
  draw_text(e, -30, -40, "HELLO", kWhite, 3);
  draw_text(e, -1000, 1000, "X", kWhite);
  CHECK_THROWS_WITH_PART(draw_text(e, 0, 0, "a", kWhite, 0), "draw_text: scale must be >= 1, got 0");
}

TEST_CASE("place_labels: first free spot, inside the image, never overlapping") {
  // One box in the middle: the label goes above its top-left corner.
  auto one = place_labels({{{20, 30, 60, 70}}}, {{30, 10}}, 100, 100);
  REQUIRE(one[0].placed);
  CHECK(one[0].x == 20);
  CHECK(one[0].y == 20);
  // A box at the top edge: above would leave the image, so the spot is clamped to y = 0 (inside).
  auto top = place_labels({{{10, 0, 50, 40}}}, {{30, 10}}, 100, 100);
  CHECK(top[0].y == 0);
  // Two identical boxes: the second label moves to the next free spot (inside, top-left).
  auto two = place_labels({{{20, 30, 60, 70}}, {{20, 30, 60, 70}}}, {{30, 10}, {30, 10}}, 100, 100);
  REQUIRE(two[1].placed);
  CHECK(two[1].x == 20);
  CHECK(two[1].y == 30);
  // A label larger than the image is not placed.
  CHECK_FALSE(place_labels({{{0, 0, 5, 5}}}, {{200, 10}}, 100, 100)[0].placed);
  CHECK_THROWS_WITH_PART(place_labels({{{0, 0, 5, 5}}}, {}, 100, 100), "place_labels: 1 boxes but 0 label sizes");
}

TEST_CASE("draw_label and draw_detection") {
  // Above the point when there is room...
  Tensor img = canvas(40, 60);
  const int64_t lh = label_size("ab").second;
  draw_label(img, 5, 20, "ab", kRed);  // box: x 5.., y 20-lh..20
  CHECK(eq(px(img, 20 - lh, 5), kRed));
  CHECK(eq(px(img, 19, 5), kRed));
  CHECK(eq(px(img, 20, 5), kBlack));
  CHECK(eq(px(img, 20 - lh - 1, 5), kBlack));
  int64_t light = 0;  // white (anti-aliased) text on a dark red box: pixels with green in them
  for (int64_t y = 0; y < 40; ++y)
    for (int64_t x = 0; x < 60; ++x) light += px(img, y, x).g > 100;
  CHECK(light > 5);
  // ...below it at the top edge.
  Tensor top = canvas(40, 60);
  draw_label(top, 5, 2, "ab", Rgb{255, 255, 0});
  CHECK(eq(px(top, 2, 5), (Rgb{255, 255, 0})));
  CHECK(eq(px(top, 1, 5), kBlack));
  CHECK(count(top, kWhite) == 0);  // black text on yellow
  // At the right edge it clips.
  Tensor edge = canvas(20, 20);
  draw_label(edge, 15, 10, "a long label", kRed);

  Tensor d = canvas(64, 64);
  draw_detection(d, 10, 20, 50, 60, 3, "Dress", 0.87);
  CHECK(eq(px(d, 40, 10), class_color(3)));
  CHECK(eq(px(d, 59, 30), class_color(3)));
}

TEST_CASE("class_color, heat_color") {
  std::set<std::tuple<int, int, int>> seen;
  for (int i = 0; i < 20; ++i) seen.insert({class_color(i).r, class_color(i).g, class_color(i).b});
  CHECK(seen.size() == 20);
  CHECK(eq(class_color(20), class_color(0)));
  CHECK(eq(class_color(-1), class_color(19)));
  CHECK(eq(heat_color(0), (Rgb{0, 0, 255})));
  CHECK(eq(heat_color(0.5), (Rgb{0, 255, 0})));
  CHECK(eq(heat_color(1), (Rgb{255, 0, 0})));
  CHECK(eq(heat_color(7), (Rgb{255, 0, 0})));
}

TEST_CASE("overlay_heatmap") {
  Tensor img = canvas(8, 8, 100);
  overlay_heatmap(img, zeros({2, 2}), 0.6);  // cold everywhere: unchanged
  CHECK(count(img, Rgb{100, 100, 100}) == 64);
  // Hot top-left quarter of a 2x2 map covers the top-left 4x4 pixels; alpha 1 makes them pure red.
  Tensor heat = from_vector({1, 0, 0, 0}, {2, 2}, DType::f64);
  overlay_heatmap(img, heat, 1.0);
  CHECK(count(img, kRed) == 16);
  CHECK(eq(px(img, 3, 3), kRed));
  CHECK(eq(px(img, 4, 4), (Rgb{100, 100, 100})));
  // alpha 0.5, v = 1: halfway to red.
  Tensor h2 = canvas(2, 2, 100);
  overlay_heatmap(h2, full({1, 1}, 1.0), 0.5);
  CHECK(eq(px(h2, 0, 0), (Rgb{178, 50, 50})));
  CHECK_THROWS_WITH_PART(overlay_heatmap(h2, zeros({1, 2, 2}), 0.5),
                         "overlay_heatmap: expected a f32/f64 [h,w] heatmap, got f32 [1,2,2] for image [2,2,3]");
  CHECK_THROWS_WITH_PART(overlay_heatmap(h2, zeros({2, 2}), 1.5), "overlay_heatmap: alpha must be in [0, 1]");
}

TEST_CASE("tile_images") {
  std::vector<Tensor> ims = {canvas(4, 5, 10), canvas(3, 3, 20), canvas(4, 4, 30)};
  const Tensor g = tile_images(ims, 2, 1, kBlack);
  // 2 columns of 5 px, 2 rows of 4 px, 1 px padding around and between.
  REQUIRE(g.shape() == Shape{2 * 4 + 3, 2 * 5 + 3, 3});
  CHECK(eq(px(g, 1, 1), (Rgb{10, 10, 10})));
  CHECK(eq(px(g, 1, 7), (Rgb{20, 20, 20})));
  CHECK(eq(px(g, 4, 10), kBlack));  // below the 3x3 tile, inside its cell
  CHECK(eq(px(g, 6, 1), (Rgb{30, 30, 30})));
  CHECK(eq(px(g, 0, 0), kBlack));
  CHECK(tile_images(ims, 10, 0).shape() == Shape{4, 15, 3});  // cols capped at the count
  CHECK_THROWS_WITH_PART(tile_images({}, 2), "tile_images: no images");
  CHECK_THROWS_WITH_PART(tile_images(ims, 0), "tile_images: cols must be >= 1, got 0");
  CHECK_THROWS_WITH_PART(tile_images({canvas(2, 2), zeros({2, 2, 3})}, 2),
                         "tile_images: image 1: expected a u8 [H,W,3] image, got f32 [2,2,3]");
}
