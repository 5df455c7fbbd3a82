// Renders docs/images/draw_demo.png, the picture in docs/images.md: what detectors/draw.h can do.
//
//   build/example_draw_demo [OUT.png]      (default: <source>/docs/images/draw_demo.png)
//
// Three tiles side by side: detections (boxes + "name score" labels in class colours, one box running
// off the image), the same scene with a CenterNet-style heatmap overlaid, and the font's full
// character set. Everything is deterministic (no randomness), so the committed PNG can be re-made.
#include <cstdio>
#include <filesystem>
#include <string>

#include "autograd/io/image.h"
#include "detectors/centernet/targets.h"
#include "detectors/draw.h"

using namespace dg;

namespace {
// A soft diagonal gradient with a faint checker texture, 0..255 u8 [h, w, 3].
Tensor background(int64_t h, int64_t w) {
  Tensor img = Tensor::empty({h, w, 3}, DType::u8);
  uint8_t* p = img.data<uint8_t>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const int t = (int)(40 + 60 * (x + y) / (h + w)) + (((x / 8 + y / 8) & 1) ? 6 : 0);
      p[(y * w + x) * 3 + 0] = (uint8_t)t;
      p[(y * w + x) * 3 + 1] = (uint8_t)(t + 10);
      p[(y * w + x) * 3 + 2] = (uint8_t)(t + 25);
    }
  return img;
}

struct Det {
  double x1, y1, x2, y2;
  int64_t cls;
  const char* name;
  double score;
};
}  // namespace

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1]
                                   : (std::filesystem::path(__FILE__).parent_path().parent_path() / "docs" / "images" /
                                      "draw_demo.png")
                                         .string();
  const int64_t H = 160, W = 200;
  const Det dets[] = {{12, 30, 80, 120, 0, "T-shirt/top", 0.93},
                      {95, 20, 150, 70, 7, "Sneaker", 0.81},
                      {110, 85, 185, 150, 8, "Bag", 0.66},
                      {160, 2, 230, 60, 3, "Dress", 0.42}};

  // 1. Detections.
  Tensor det = background(H, W);
  for (const Det& d : dets) draw_detection(det, d.x1, d.y1, d.x2, d.y2, d.cls, d.name, d.score);

  // 2. A heatmap at stride 4 with a Gaussian at each box centre, overlaid on the scene.
  Tensor heat = zeros({H / 4, W / 4});
  for (const Det& d : dets) {
    const int64_t cx = (int64_t)((d.x1 + d.x2) / 8), cy = (int64_t)((d.y1 + d.y2) / 8);
    const int64_t r = (int64_t)gaussian_radius((d.y2 - d.y1) / 4, (d.x2 - d.x1) / 4);
    draw_gaussian(heat, 0, cx, cy, std::max<int64_t>(r, 1));
  }
  Tensor ovl = background(H, W);
  overlay_heatmap(ovl, heat, 0.7);
  for (const Det& d : dets) draw_box(ovl, d.x1, d.y1, d.x2, d.y2, Rgb{255, 255, 255}, 1);
  draw_label(ovl, 0, 0, "heatmap overlay", Rgb{0, 0, 0});

  // 3. The font: ASCII 32..126 in rows of 16, at scale 1, and a scale-2 line.
  Tensor font = background(H, W);
  for (int row = 0; row < 6; ++row) {
    std::string s;
    for (int c = 32 + row * 16; c < 32 + (row + 1) * 16 && c <= 126; ++c) s += (char)c;
    draw_text(font, 4, 6 + row * 12, s, Rgb{255, 255, 255});
  }
  draw_text(font, 4, 90, "scale 2", class_color(1), 2);
  draw_label(font, 4, 140, "label box, clipped at the edge ->", class_color(4));

  io::save_png(out, tile_images({det, ovl, font}, 3, 4));
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
