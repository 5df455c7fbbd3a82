// TrueType text for pictures: DejaVu Sans (Debian's fonts-dejavu-core, read from
// /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf, or $DETGRAD_FONT) rasterised with stb_truetype
// (libstb-dev), anti-aliased and blended into the image. draw.h's text functions use it when the
// font file is there and fall back to the built-in 5x7 bitmap font otherwise (with a note on stderr,
// once). Nothing here is downloaded or vendored.
//
// Sizes are pixel heights of the font's em box (`px`); a line is line_height(px) pixels tall and a
// string text_width_px(text, px) wide, both integers so layouts stay on the pixel grid. Text is UTF-8
// in the Latin range the font covers; any other code point draws the font's missing-glyph box.
#pragma once
#include <cstdint>
#include <string>

#include "autograd/tensor.h"

namespace dg {

struct Rgb;

// True when the TrueType font could be loaded (the first call loads it).
bool truetype_available();
// The file it came from, or why not ("no font at /usr/share/...: install fonts-dejavu-core").
const std::string& truetype_status();

int64_t text_width_px(const std::string& text, double px);
int64_t line_height(double px);  // ascent - descent, rounded up
// Draws with the top of the line box at y (the baseline at y + ascent); coverage-blended, clipped.
void draw_text_px(Tensor& image, int64_t x, int64_t y, const std::string& text, Rgb color, double px);

}  // namespace dg
