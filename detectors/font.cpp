// TrueType text (see font.h): the font file read once, glyphs rasterised per call with stb_truetype.
#include "detectors/font.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "autograd/error.h"
#include "detectors/draw.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#define STB_TRUETYPE_IMPLEMENTATION
#define STBTT_STATIC
#include <stb/stb_truetype.h>
#pragma GCC diagnostic pop

namespace dg {

namespace {

struct Font {
  std::vector<unsigned char> bytes;
  stbtt_fontinfo info{};
  bool ok = false;
  std::string status;
  int ascent = 0, descent = 0, line_gap = 0;  // font units
};

const Font& font() {
  static const Font f = [] {
    Font r;
    const char* env = std::getenv("DETGRAD_FONT");
    const std::string path = env && *env ? env : "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      r.status = "no font at " + path + " (install fonts-dejavu-core): pictures use the 5x7 bitmap font";
      return r;
    }
    r.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (r.bytes.empty() || !stbtt_InitFont(&r.info, r.bytes.data(), stbtt_GetFontOffsetForIndex(r.bytes.data(), 0))) {
      r.status = path + " is not a TrueType font: pictures use the 5x7 bitmap font";
      return r;
    }
    stbtt_GetFontVMetrics(&r.info, &r.ascent, &r.descent, &r.line_gap);
    r.ok = true;
    r.status = path;
    return r;
  }();
  return f;
}

// The next code point of UTF-8 text at i (advanced); malformed bytes read as U+FFFD.
int next_codepoint(const std::string& s, size_t& i) {
  const unsigned char c = (unsigned char)s[i++];
  if (c < 0x80) return c;
  int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
  if (n < 0) return 0xFFFD;
  int cp = c & (0x3F >> n);
  for (; n > 0; --n) {
    if (i >= s.size() || ((unsigned char)s[i] & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | ((unsigned char)s[i++] & 0x3F);
  }
  return cp;
}

float scale_for(const Font& f, double px) { return stbtt_ScaleForPixelHeight(&f.info, (float)px); }

void check_px(double px, const char* fn) { check(px >= 4 && px <= 512, fn, ": text size must be 4..512 px, got ", px); }
}  // namespace

bool truetype_available() { return font().ok; }
const std::string& truetype_status() { return font().status; }

int64_t line_height(double px) {
  const Font& f = font();
  check(f.ok, "line_height: ", f.status);
  check_px(px, "line_height");
  return (int64_t)std::ceil((f.ascent - f.descent) * scale_for(f, px));
}

int64_t text_width_px(const std::string& text, double px) {
  const Font& f = font();
  check(f.ok, "text_width_px: ", f.status);
  check_px(px, "text_width_px");
  const float sc = scale_for(f, px);
  float x = 0;
  for (size_t i = 0; i < text.size();) {
    const int cp = next_codepoint(text, i);
    int adv = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(&f.info, cp, &adv, &lsb);
    x += adv * sc;
    if (i < text.size()) {
      size_t j = i;
      x += sc * stbtt_GetCodepointKernAdvance(&f.info, cp, next_codepoint(text, j));
    }
  }
  return (int64_t)std::ceil(x);
}

void draw_text_px(Tensor& image, int64_t x, int64_t y, const std::string& text, Rgb color, double px) {
  const Font& f = font();
  check(f.ok, "draw_text_px: ", f.status);
  check_px(px, "draw_text_px");
  check(image.dtype() == DType::u8 && image.dim() == 3 && image.size(2) == 3,
        "draw_text_px: image must be u8 [H, W, 3], got ", shape_text(image.shape()));
  const int64_t H = image.size(0), W = image.size(1);
  uint8_t* p = image.data<uint8_t>();
  const float sc = scale_for(f, px);
  const int baseline = (int)std::lround(f.ascent * sc);
  float pen = (float)x;
  for (size_t i = 0; i < text.size();) {
    const int cp = next_codepoint(text, i);
    int adv = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(&f.info, cp, &adv, &lsb);
    const float shift = pen - std::floor(pen);
    int gw = 0, gh = 0, x0 = 0, y0 = 0;
    unsigned char* bmp = stbtt_GetCodepointBitmapSubpixel(&f.info, sc, sc, shift, 0, cp, &gw, &gh, &x0, &y0);
    const int64_t ox = (int64_t)std::floor(pen) + x0, oy = y + baseline + y0;
    for (int r = 0; r < gh; ++r)
      for (int c = 0; c < gw; ++c) {
        const int64_t yy = oy + r, xx = ox + c;
        const int a = bmp[r * gw + c];
        if (a == 0 || yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
        uint8_t* q = p + (yy * W + xx) * 3;
        q[0] = (uint8_t)((q[0] * (255 - a) + color.r * a + 127) / 255);
        q[1] = (uint8_t)((q[1] * (255 - a) + color.g * a + 127) / 255);
        q[2] = (uint8_t)((q[2] * (255 - a) + color.b * a + 127) / 255);
      }
    stbtt_FreeBitmap(bmp, nullptr);
    pen += adv * sc;
    if (i < text.size()) {
      size_t j = i;
      pen += sc * stbtt_GetCodepointKernAdvance(&f.info, cp, next_codepoint(text, j));
    }
  }
}

}  // namespace dg
