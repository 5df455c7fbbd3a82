// Renders docs/detection/heatmap.png: CenterNet heatmap targets for one scene, drawn twice -- with the
// Gaussian radius of the CenterNet code (left) and with the corrected radius (right) -- so the
// difference described in docs/detection/heatmaps.md can be seen. Run from anywhere:
//
//   build/example_heatmap_picture [OUT.png]      (default: <source>/docs/detection/heatmap.png)
//
// Each output cell (stride 4) is drawn as a 3x3 block, coloured black -> red -> yellow -> white by its
// value (max over classes); box outlines, in output cells, are cyan.
#define STB_IMAGE_WRITE_STATIC  // private copy: no clash with another stb user in the library
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "detectors/centernet/targets.h"

using namespace dg;

namespace {
constexpr int kCell = 3;  // pixels per output cell

// "hot" colour map: 0 black, 1/3 red, 2/3 yellow, 1 white.
void hot(double v, uint8_t* rgb) {
  v = std::clamp(v, 0.0, 1.0);
  rgb[0] = uint8_t(255 * std::min(1.0, 3 * v));
  rgb[1] = uint8_t(255 * std::clamp(3 * v - 1, 0.0, 1.0));
  rgb[2] = uint8_t(255 * std::clamp(3 * v - 2, 0.0, 1.0));
}

// One panel: the targets of `boxes` under `opt`, drawn into img (width img_w) at column x0.
void panel(const Tensor& boxes, const Tensor& labels, const CenterNetTargetOptions& opt, std::vector<uint8_t>& img,
           int img_w, int x0) {
  const CenterNetTargets t = centernet_targets(boxes, labels, opt);
  const int64_t H = opt.out_h, W = opt.out_w;
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      double v = 0;
      for (int64_t c = 0; c < opt.num_classes; ++c) v = std::max(v, t.heatmap.at((c * H + y) * W + x));
      uint8_t rgb[3];
      hot(v, rgb);
      for (int dy = 0; dy < kCell; ++dy)
        for (int dx = 0; dx < kCell; ++dx) {
          uint8_t* p = &img[3 * ((size_t)(y * kCell + dy) * img_w + x0 + x * kCell + dx)];
          p[0] = rgb[0], p[1] = rgb[1], p[2] = rgb[2];
        }
    }
  // Box outlines in output-cell coordinates.
  for (int64_t k = 0; k < boxes.size(0); ++k) {
    const int bx1 = int(boxes.at(4 * k) / opt.stride * kCell), by1 = int(boxes.at(4 * k + 1) / opt.stride * kCell);
    const int bx2 = int(boxes.at(4 * k + 2) / opt.stride * kCell), by2 = int(boxes.at(4 * k + 3) / opt.stride * kCell);
    auto put = [&](int x, int y) {
      if (x < 0 || y < 0 || x >= W * kCell || y >= H * kCell) return;
      uint8_t* p = &img[3 * ((size_t)y * img_w + x0 + x)];
      p[0] = 0, p[1] = 220, p[2] = 255;
    };
    for (int x = bx1; x <= bx2; ++x) put(x, by1), put(x, by2);
    for (int y = by1; y <= by2; ++y) put(bx1, y), put(bx2, y);
  }
}
}  // namespace

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1]
                                   : (std::filesystem::path(__FILE__).parent_path().parent_path() / "docs" /
                                      "detection" / "heatmap.png")
                                         .string();
  // A 512 x 384 input image (stride 4 -> 128 x 96 cells) with objects from 12 to 240 pixels.
  const std::vector<double> b = {
      20,  20,  260, 260,  // large: code radius 20 cells vs corrected 6
      300, 40,  364, 104,  // 64 x 64 (16 x 16 cells)
      400, 60,  440, 100,  // 40 x 40
      300, 200, 500, 280,  // wide
      60,  300, 72,  312,  // 12 x 12: tiny
      120, 290, 160, 370,  // tall
      150, 150, 210, 210,  // overlaps the large one: max merge, not sum
  };
  const int64_t n = (int64_t)b.size() / 4;
  Tensor boxes = from_vector(b, {n, 4}, DType::f32);
  Tensor labels = from_vector(std::vector<double>(n, 0.0), {n}, DType::i64);
  CenterNetTargetOptions opt;
  opt.num_classes = 1, opt.out_h = 96, opt.out_w = 128, opt.stride = 4;
  const int pw = int(opt.out_w) * kCell, ph = int(opt.out_h) * kCell, gap = 8, img_w = 2 * pw + gap;
  std::vector<uint8_t> img(3 * (size_t)img_w * ph, 255);
  CenterNetTargetOptions code = opt, fixed = opt;
  code.gaussian_radius_code = true;
  fixed.gaussian_radius_code = false;
  panel(boxes, labels, code, img, img_w, 0);
  panel(boxes, labels, fixed, img, img_w, pw + gap);
  if (!stbi_write_png(out.c_str(), img_w, ph, 3, img.data(), img_w * 3)) {
    std::fprintf(stderr, "heatmap_picture: cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("wrote %s (%d x %d): left CenterNet-code radius, right corrected radius\n", out.c_str(), img_w, ph);
  return 0;
}
