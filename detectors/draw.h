// Drawing on images: boxes, text labels (TrueType DejaVu Sans through font.h, or a built-in 5x7 bitmap
// font when the font file is missing), label placement that keeps labels apart, a per-class colour
// palette, a heatmap overlay and a grid of tiles. For detection pictures (`detgrad detect`, `demo`).
//
// Images are u8 tensors [H, W, 3] (autograd/io/image.h); every function here draws IN PLACE and clips
// at the borders, so a box partly (or wholly) outside the image, or text running off the edge, is
// simply cut -- never an error. A wrong image dtype/shape is a dg::Error naming the function.
// Coordinates are pixels, x to the right, y down; a box (x1, y1, x2, y2) covers pixels x1..x2-1,
// matching the continuous xyxy convention of detectors/conventions.h (a box [0, 0, W, H] is the
// whole image).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace dg {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

// A distinct colour per class id (a fixed 20-colour table, repeated for larger ids).
Rgb class_color(int64_t class_id);

// Fills pixels x in [x1, x2), y in [y1, y2), clipped to the image.
void fill_rect(Tensor& image, int64_t x1, int64_t y1, int64_t x2, int64_t y2, Rgb color);

// Outline of the box (x1, y1, x2, y2) (rounded to pixels), `thickness` pixels drawn inwards from its
// edges, clipped to the image.
void draw_box(Tensor& image, double x1, double y1, double x2, double y2, Rgb color, int thickness = 2);

// Text at size `scale`: TrueType at kTextPx * scale pixels (font.h) when the font is available, else
// the bitmap font below. Every picture lays its text out with these three.
constexpr double kTextPx = 11;
int64_t text_width(const std::string& text, int scale = 1);
int64_t text_height(int scale = 1);  // one line
// Draws the text with the top-left corner of its line box at (x, y).
void draw_text(Tensor& image, int64_t x, int64_t y, const std::string& text, Rgb color, int scale = 1);
// Titles: TrueType at kTitlePx (bitmap: scale 2).
constexpr double kTitlePx = 15;
int64_t title_width(const std::string& text);
int64_t title_height();
void draw_title(Tensor& image, int64_t x, int64_t y, const std::string& text, Rgb color);

// The bitmap font: 5x7 glyphs for ASCII 32..126 in a 6x8 cell (one column and one row of spacing),
// scaled by an integer factor. Other characters draw as '?'.
constexpr int kGlyphW = 5, kGlyphH = 7, kCellW = 6, kCellH = 8;
int64_t bitmap_text_width(const std::string& text, int scale = 1);  // kCellW * scale * text.size()
int64_t bitmap_text_height(int scale = 1);                          // kCellH * scale
// Draws the text with its top-left cell corner at (x, y); only the glyph pixels are written.
void draw_bitmap_text(Tensor& image, int64_t x, int64_t y, const std::string& text, Rgb color, int scale = 1);

// A filled label box (background `bg`, text white or black, whichever contrasts more) whose bottom-left
// corner sits at (x, y) -- i.e. just above a box's top-left corner; if that would leave the image at
// the top, the label is put below y instead (inside the box). Returns nothing; clips like the rest.
void draw_label(Tensor& image, double x, double y, const std::string& text, Rgb bg, int scale = 1);

// The size of draw_label's box for `text`: (width, height).
std::pair<int64_t, int64_t> label_size(const std::string& text, int scale = 1);
// A filled label box with its top-left corner at (x, y) (no moving; see place_labels).
void draw_label_at(Tensor& image, int64_t x, int64_t y, const std::string& text, Rgb bg, int scale = 1);

// Where labels go on a crowded picture. For label i (size[i] = width, height) of box i, in order
// (put the most important first), the first of these spots that lies inside the W x H image and
// overlaps no label placed before it: above the box's top-left corner, inside it at the top-left,
// above and inside at the top-right, below and inside at the bottom-left, then bottom-right; each
// spot is first clamped into the image. A label with no free spot is not placed (placed[i] false).
struct LabelSpot {
  bool placed = false;
  int64_t x = 0, y = 0, w = 0, h = 0;  // its rectangle [x, x + w) x [y, y + h)
};
std::vector<LabelSpot> place_labels(const std::vector<std::array<double, 4>>& boxes,
                                    const std::vector<std::pair<int64_t, int64_t>>& sizes, int64_t W, int64_t H);

// Box + "name 0.87" label in the class colour: the usual detection picture.
void draw_detection(Tensor& image, double x1, double y1, double x2, double y2, int64_t class_id,
                    const std::string& class_name, double score, int thickness = 2, int scale = 1);

// The colour of value v in [0, 1] on a blue -> cyan -> green -> yellow -> red scale (a "jet"-like map).
Rgb heat_color(double v);

// Blends a heatmap f32/f64 [h, w] (values clamped to [0, 1]) over the image, scaled to the image size
// with nearest-neighbour sampling: pixel = (1 - a) * pixel + a * heat_color(v) with a = alpha * v,
// so cold areas stay visible and hot ones take the colour.
void overlay_heatmap(Tensor& image, const Tensor& heat, double alpha = 0.6);

// Tiles u8 [H_i, W_i, 3] images into a grid of `cols` columns (row-major order), each cell as large
// as the largest image, `pad` pixels of `bg` between and around the cells. Returns a new image.
Tensor tile_images(const std::vector<Tensor>& images, int64_t cols, int64_t pad = 2, Rgb bg = {32, 32, 32});

}  // namespace dg
