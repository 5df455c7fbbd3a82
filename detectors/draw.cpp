// Drawing on u8 [H, W, 3] images; see draw.h. Everything is plain loops over clipped pixel ranges.
#include "detectors/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autograd/error.h"
#include "detectors/font.h"

namespace dg {

namespace {

// The 5x7 font, our own table: 7 rows per glyph, bit 4 = leftmost column, for ASCII 32..126.
constexpr uint8_t kFont[95][7] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // ' '
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04},  // !
    {0x0A, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00},  // "
    {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A},  // #
    {0x04, 0x0F, 0x14, 0x0E, 0x05, 0x1E, 0x04},  // $
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03},  // %
    {0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D},  // &
    {0x04, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00},  // '
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02},  // (
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08},  // )
    {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00},  // *
    {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00},  // +
    {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08},  // ,
    {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00},  // -
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C},  // .
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00},  // /
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E},  // 0
    {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},  // 1
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F},  // 2
    {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},  // 3
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02},  // 4
    {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},  // 5
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E},  // 6
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},  // 7
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E},  // 8
    {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C},  // 9
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00},  // :
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x04, 0x08},  // ;
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02},  // <
    {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00},  // =
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08},  // >
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04},  // ?
    {0x0E, 0x11, 0x01, 0x0D, 0x15, 0x15, 0x0E},  // @
    {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11},  // A
    {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E},  // B
    {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E},  // C
    {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C},  // D
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F},  // E
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10},  // F
    {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F},  // G
    {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11},  // H
    {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E},  // I
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C},  // J
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11},  // K
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F},  // L
    {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11},  // M
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},  // N
    {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E},  // O
    {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10},  // P
    {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D},  // Q
    {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11},  // R
    {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E},  // S
    {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},  // T
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E},  // U
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04},  // V
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A},  // W
    {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11},  // X
    {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04},  // Y
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F},  // Z
    {0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E},  // [
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00},  // backslash
    {0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E},  // ]
    {0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00},  // ^
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F},  // _
    {0x08, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00},  // `
    {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F},  // a
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E},  // b
    {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E},  // c
    {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F},  // d
    {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E},  // e
    {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08},  // f
    {0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E},  // g
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11},  // h
    {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E},  // i
    {0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C},  // j
    {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12},  // k
    {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E},  // l
    {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11},  // m
    {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11},  // n
    {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E},  // o
    {0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10},  // p
    {0x00, 0x00, 0x0D, 0x13, 0x0F, 0x01, 0x01},  // q
    {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10},  // r
    {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E},  // s
    {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06},  // t
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D},  // u
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04},  // v
    {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A},  // w
    {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11},  // x
    {0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E},  // y
    {0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F},  // z
    {0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02},  // {
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},  // |
    {0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08},  // }
    {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00},  // ~
};

// 20 well-separated colours (in the spirit of the usual tab20 / Kelly palettes, our own values).
constexpr Rgb kPalette[20] = {
    {230, 25, 75},   {60, 180, 75},   {255, 225, 25},  {0, 130, 200},   {245, 130, 48},
    {145, 30, 180},  {70, 240, 240},  {240, 50, 230},  {210, 245, 60},  {250, 190, 212},
    {0, 128, 128},   {220, 190, 255}, {170, 110, 40},  {255, 250, 200}, {128, 0, 0},
    {170, 255, 195}, {128, 128, 0},   {255, 215, 180}, {0, 0, 128},     {128, 128, 128},
};

// The image as writable pixels; checks u8 [H, W, 3].
uint8_t* pixels(Tensor& image, const char* who, int64_t& h, int64_t& w) {
  if (!image.defined() || image.dtype() != DType::u8 || image.dim() != 3 || image.size(2) != 3)
    fail(who, ": expected a u8 [H,W,3] image, got ", image.defined() ? dtype_name(image.dtype()) : "undefined", " ",
         image.defined() ? shape_str(image.shape()) : "[]");
  h = image.size(0);
  w = image.size(1);
  return image.data<uint8_t>();
}

void check_scale(int scale, const char* who) {
  if (scale < 1) fail(who, ": scale must be >= 1, got ", scale);
}

// Rounds a coordinate to a pixel index, saturating far outside the image (no overflow on huge values).
int64_t to_px(double v) {
  if (!(v == v)) return 0;
  return (int64_t)std::llround(std::clamp(v, -1e9, 1e9));
}

}  // namespace

Rgb class_color(int64_t class_id) {
  const int64_t n = 20;
  return kPalette[((class_id % n) + n) % n];
}

void fill_rect(Tensor& image, int64_t x1, int64_t y1, int64_t x2, int64_t y2, Rgb color) {
  int64_t h, w;
  uint8_t* p = pixels(image, "fill_rect", h, w);
  x1 = std::max<int64_t>(x1, 0), y1 = std::max<int64_t>(y1, 0);
  x2 = std::min(x2, w), y2 = std::min(y2, h);
  for (int64_t y = y1; y < y2; ++y)
    for (int64_t x = x1; x < x2; ++x) {
      uint8_t* q = p + (y * w + x) * 3;
      q[0] = color.r, q[1] = color.g, q[2] = color.b;
    }
}

void draw_box(Tensor& image, double x1, double y1, double x2, double y2, Rgb color, int thickness) {
  int64_t h, w;
  pixels(image, "draw_box", h, w);
  if (thickness < 1) fail("draw_box: thickness must be >= 1, got ", thickness);
  const int64_t a = to_px(std::min(x1, x2)), b = to_px(std::min(y1, y2));
  const int64_t c = to_px(std::max(x1, x2)), d = to_px(std::max(y1, y2));
  const int64_t t = thickness;
  // Four bands inside the box: top, bottom, left, right (fill_rect clips each one).
  fill_rect(image, a, b, c, std::min(b + t, d), color);
  fill_rect(image, a, std::max(d - t, b), c, d, color);
  fill_rect(image, a, b, std::min(a + t, c), d, color);
  fill_rect(image, std::max(c - t, a), b, c, d, color);
}

int64_t bitmap_text_width(const std::string& text, int scale) { return (int64_t)text.size() * kCellW * scale; }
int64_t bitmap_text_height(int scale) { return (int64_t)kCellH * scale; }

namespace {
bool use_truetype() {
  static const bool ok = [] {
    if (!truetype_available()) std::fprintf(stderr, "note: %s\n", truetype_status().c_str());
    return truetype_available();
  }();
  return ok;
}
}  // namespace

int64_t text_width(const std::string& text, int scale) {
  check_scale(scale, "text_width");
  return use_truetype() ? text_width_px(text, kTextPx * scale) : bitmap_text_width(text, scale);
}

int64_t text_height(int scale) {
  check_scale(scale, "text_height");
  return use_truetype() ? line_height(kTextPx * scale) : bitmap_text_height(scale);
}

void draw_text(Tensor& image, int64_t x, int64_t y, const std::string& text, Rgb color, int scale) {
  int64_t h, w;
  pixels(image, "draw_text", h, w);
  check_scale(scale, "draw_text");
  if (use_truetype()) draw_text_px(image, x, y, text, color, kTextPx * scale);
  else draw_bitmap_text(image, x, y, text, color, scale);
}

int64_t title_width(const std::string& text) {
  return use_truetype() ? text_width_px(text, kTitlePx) : bitmap_text_width(text, 2);
}

int64_t title_height() { return use_truetype() ? line_height(kTitlePx) : bitmap_text_height(2); }

void draw_title(Tensor& image, int64_t x, int64_t y, const std::string& text, Rgb color) {
  int64_t h, w;
  pixels(image, "draw_title", h, w);
  if (use_truetype()) draw_text_px(image, x, y, text, color, kTitlePx);
  else draw_bitmap_text(image, x, y, text, color, 2);
}

void draw_bitmap_text(Tensor& image, int64_t x, int64_t y, const std::string& text, Rgb color, int scale) {
  int64_t h, w;
  pixels(image, "draw_bitmap_text", h, w);
  check_scale(scale, "draw_bitmap_text");
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char ch = (unsigned char)text[i];
    if (ch < 32 || ch > 126) ch = '?';
    const uint8_t* glyph = kFont[ch - 32];
    const int64_t cx = x + (int64_t)i * kCellW * scale;
    if (cx >= w) break;  // the rest is off the right edge
    for (int r = 0; r < kGlyphH; ++r)
      for (int col = 0; col < kGlyphW; ++col)
        if (glyph[r] & (0x10 >> col))  // each font pixel becomes a scale x scale square
          fill_rect(image, cx + col * scale, y + r * scale, cx + (col + 1) * scale, y + (r + 1) * scale, color);
  }
}

std::pair<int64_t, int64_t> label_size(const std::string& text, int scale) {
  const int64_t pad = scale;  // margin around the text
  return {text_width(text, scale) + 2 * pad, text_height(scale) + pad};
}

void draw_label_at(Tensor& image, int64_t x, int64_t y, const std::string& text, Rgb bg, int scale) {
  int64_t h, w;
  pixels(image, "draw_label", h, w);
  check_scale(scale, "draw_label");
  const auto [bw, bh] = label_size(text, scale);
  fill_rect(image, x, y, x + bw, y + bh, bg);
  // Perceived brightness (ITU-R BT.601 weights) decides between black and white text.
  const double lum = 0.299 * bg.r + 0.587 * bg.g + 0.114 * bg.b;
  const Rgb fg = lum > 140 ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
  draw_text(image, x + scale, y + (bh - text_height(scale) + 1) / 2, text, fg, scale);
}

void draw_label(Tensor& image, double x, double y, const std::string& text, Rgb bg, int scale) {
  check_scale(scale, "draw_label");
  const int64_t bh = label_size(text, scale).second;
  const int64_t x0 = to_px(x);
  int64_t y0 = to_px(y) - bh;  // above the point...
  if (y0 < 0) y0 = to_px(y);   // ...or below it when there is no room at the top
  draw_label_at(image, x0, y0, text, bg, scale);
}

std::vector<LabelSpot> place_labels(const std::vector<std::array<double, 4>>& boxes,
                                    const std::vector<std::pair<int64_t, int64_t>>& sizes, int64_t W, int64_t H) {
  check(boxes.size() == sizes.size(), "place_labels: ", boxes.size(), " boxes but ", sizes.size(), " label sizes");
  std::vector<LabelSpot> out(boxes.size());
  std::vector<LabelSpot> placed;
  auto overlaps = [&](const LabelSpot& a) {
    for (const LabelSpot& b : placed)
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) return true;
    return false;
  };
  for (size_t i = 0; i < boxes.size(); ++i) {
    const auto [w, h] = sizes[i];
    if (w > W || h > H) continue;  // cannot fit at all
    const int64_t x1 = to_px(std::min(boxes[i][0], boxes[i][2])), y1 = to_px(std::min(boxes[i][1], boxes[i][3]));
    const int64_t x2 = to_px(std::max(boxes[i][0], boxes[i][2])), y2 = to_px(std::max(boxes[i][1], boxes[i][3]));
    const int64_t spots[8][2] = {{x1, y1 - h}, {x1, y1},     {x2 - w, y1 - h}, {x2 - w, y1},
                                 {x1, y2},     {x1, y2 - h}, {x2 - w, y2},     {x2 - w, y2 - h}};
    for (const auto& s : spots) {
      LabelSpot c{true, std::clamp<int64_t>(s[0], 0, W - w), std::clamp<int64_t>(s[1], 0, H - h), w, h};
      if (overlaps(c)) continue;
      out[i] = c;
      placed.push_back(c);
      break;
    }
  }
  return out;
}

void draw_detection(Tensor& image, double x1, double y1, double x2, double y2, int64_t class_id,
                    const std::string& class_name, double score, int thickness, int scale) {
  const Rgb c = class_color(class_id);
  draw_box(image, x1, y1, x2, y2, c, thickness);
  char s[32];
  std::snprintf(s, sizeof s, " %.2f", score);
  draw_label(image, std::min(x1, x2), std::min(y1, y2), class_name + s, c, scale);
}

Rgb heat_color(double v) {
  if (!(v == v)) v = 0;
  v = std::clamp(v, 0.0, 1.0);
  // Piecewise-linear ramp through blue (0), cyan (.25), green (.5), yellow (.75), red (1).
  auto lerp = [](double a, double b, double t) { return (uint8_t)std::lround(a + (b - a) * t); };
  if (v < 0.25) return {0, lerp(0, 255, v / 0.25), 255};
  if (v < 0.5) return {0, 255, lerp(255, 0, (v - 0.25) / 0.25)};
  if (v < 0.75) return {lerp(0, 255, (v - 0.5) / 0.25), 255, 0};
  return {255, lerp(255, 0, (v - 0.75) / 0.25), 0};
}

void overlay_heatmap(Tensor& image, const Tensor& heat, double alpha) {
  int64_t h, w;
  uint8_t* p = pixels(image, "overlay_heatmap", h, w);
  if (!heat.defined() || (heat.dtype() != DType::f32 && heat.dtype() != DType::f64) || heat.dim() != 2 ||
      heat.size(0) < 1 || heat.size(1) < 1)
    fail("overlay_heatmap: expected a f32/f64 [h,w] heatmap, got ",
         heat.defined() ? dtype_name(heat.dtype()) : "undefined", " ", heat.defined() ? shape_str(heat.shape()) : "[]",
         " for image ", shape_str(image.shape()));
  if (!(alpha >= 0 && alpha <= 1)) fail("overlay_heatmap: alpha must be in [0, 1], got ", alpha);
  const Tensor hf = heat.dtype() == DType::f32 ? heat : heat.detach().to(DType::f32);
  const float* v = hf.data<float>();
  const int64_t hh = heat.size(0), hw = heat.size(1);
  for (int64_t y = 0; y < h; ++y) {
    const int64_t sy = std::min(hh - 1, (y * hh) / h);  // nearest source row (pixel-centre aligned enough)
    for (int64_t x = 0; x < w; ++x) {
      const int64_t sx = std::min(hw - 1, (x * hw) / w);
      double t = v[sy * hw + sx];
      if (!(t == t)) t = 0;
      t = std::clamp(t, 0.0, 1.0);
      const Rgb c = heat_color(t);
      const double a = alpha * t;
      uint8_t* q = p + (y * w + x) * 3;
      q[0] = (uint8_t)std::lround((1 - a) * q[0] + a * c.r);
      q[1] = (uint8_t)std::lround((1 - a) * q[1] + a * c.g);
      q[2] = (uint8_t)std::lround((1 - a) * q[2] + a * c.b);
    }
  }
}

Tensor tile_images(const std::vector<Tensor>& images, int64_t cols, int64_t pad, Rgb bg) {
  if (images.empty()) fail("tile_images: no images");
  if (cols < 1) fail("tile_images: cols must be >= 1, got ", cols);
  if (pad < 0) fail("tile_images: pad must be >= 0, got ", pad);
  int64_t ch = 0, cw = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const Tensor& im = images[i];
    if (!im.defined() || im.dtype() != DType::u8 || im.dim() != 3 || im.size(2) != 3)
      fail("tile_images: image ", i, ": expected a u8 [H,W,3] image, got ",
           im.defined() ? dtype_name(im.dtype()) : "undefined", " ", im.defined() ? shape_str(im.shape()) : "[]");
    ch = std::max(ch, im.size(0));
    cw = std::max(cw, im.size(1));
  }
  const int64_t n = (int64_t)images.size();
  const int64_t c = std::min(cols, n), r = (n + c - 1) / c;
  const int64_t H = r * ch + (r + 1) * pad, W = c * cw + (c + 1) * pad;
  Tensor out = Tensor::empty({H, W, 3}, DType::u8);
  fill_rect(out, 0, 0, W, H, bg);
  uint8_t* o = out.data<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    const Tensor& im = images[(size_t)i];
    const uint8_t* s = im.data<uint8_t>();
    const int64_t oy = pad + (i / c) * (ch + pad), ox = pad + (i % c) * (cw + pad);
    for (int64_t y = 0; y < im.size(0); ++y)
      std::copy(s + y * im.size(1) * 3, s + (y + 1) * im.size(1) * 3, o + ((oy + y) * W + ox) * 3);
  }
  return out;
}

}  // namespace dg
