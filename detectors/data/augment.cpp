// Detection augmentation: flip, CenterNet scale+crop affine, colour jitter. See augment.h.
#include "detectors/data/augment.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"

namespace dg::data {

namespace {

void check_image(const Tensor& img, const char* op) {
  check(img.dtype() == DType::u8 && img.dim() == 3 && img.shape()[2] == 3, op, ": image must be u8 [H,W,3], got ",
        shape_text(img.shape()));
}

void check_scene(const Scene& s, const char* op) {
  check_image(s.image, op);
  check(s.boxes.size() == s.labels.size(), op, ": ", s.boxes.size(), " boxes but ", s.labels.size(), " labels");
}

uint8_t to_u8(double v) { return static_cast<uint8_t>(std::clamp(std::nearbyint(v), 0.0, 255.0)); }

}  // namespace

Affine compose(const Affine& o, const Affine& i) {
  Affine r;
  r.a = o.a * i.a + o.b * i.c;
  r.b = o.a * i.b + o.b * i.d;
  r.tx = o.a * i.tx + o.b * i.ty + o.tx;
  r.c = o.c * i.a + o.d * i.c;
  r.d = o.c * i.b + o.d * i.d;
  r.ty = o.c * i.tx + o.d * i.ty + o.ty;
  return r;
}

Affine invert(const Affine& m) {
  // [a b; c d]^-1 = [d -b; -c a] / det, translation -A^-1 t.
  double det = m.a * m.d - m.b * m.c;
  check(std::isfinite(det) && std::abs(det) > 1e-12, "affine invert: singular matrix (det ", det, ")");
  Affine r;
  r.a = m.d / det;
  r.b = -m.b / det;
  r.c = -m.c / det;
  r.d = m.a / det;
  r.tx = -(r.a * m.tx + r.b * m.ty);
  r.ty = -(r.c * m.tx + r.d * m.ty);
  return r;
}

Box map_box(const Affine& m, const Box& b) {
  double x1 = 1e300, y1 = 1e300, x2 = -1e300, y2 = -1e300;
  for (int k = 0; k < 4; ++k) {
    auto p = m.apply(k & 1 ? b[2] : b[0], k & 2 ? b[3] : b[1]);
    x1 = std::min(x1, p[0]), x2 = std::max(x2, p[0]);
    y1 = std::min(y1, p[1]), y2 = std::max(y2, p[1]);
  }
  return {(float)x1, (float)y1, (float)x2, (float)y2};
}

void AugmentConfig::validate() const {
  check(flip_prob >= 0 && flip_prob <= 1, "augment: flip_prob must be in [0, 1], got ", flip_prob);
  check(scale_lo > 0 && scale_hi >= scale_lo, "augment: need 0 < scale_lo <= scale_hi, got [", scale_lo, ", ", scale_hi,
        "]");
  check(shift >= 0 && shift <= 1, "augment: shift must be in [0, 1], got ", shift);
  check(out_height >= 0 && out_width >= 0, "augment: output size must be >= 0, got ", out_height, "x", out_width);
  check(min_box_size >= 0, "augment: min_box_size must be >= 0, got ", min_box_size);
  check(brightness >= 0 && brightness < 1 && contrast >= 0 && contrast < 1 && saturation >= 0 && saturation < 1,
        "augment: colour jitter amounts must be in [0, 1), got ", brightness, ", ", contrast, ", ", saturation);
}

Scene hflip(const Scene& s) {
  check_scene(s, "hflip");
  const int64_t H = s.image.shape()[0], W = s.image.shape()[1];
  Scene r;
  r.image = Tensor::empty({H, W, 3}, DType::u8);
  const Tensor src = s.image;
  const uint8_t* in = src.data<uint8_t>();
  uint8_t* out = r.image.data<uint8_t>();
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x)
      for (int ch = 0; ch < 3; ++ch) out[(y * W + x) * 3 + ch] = in[(y * W + (W - 1 - x)) * 3 + ch];
  for (const Box& b : s.boxes) r.boxes.push_back({(float)W - b[2], b[1], (float)W - b[0], b[3]});
  r.labels = s.labels;
  return r;
}

Tensor warp_affine(const Tensor& image, const Affine& m, int64_t oh, int64_t ow, uint8_t fill) {
  check_image(image, "warp_affine");
  check(oh > 0 && ow > 0, "warp_affine: output size must be positive, got ", oh, "x", ow);
  const int64_t H = image.shape()[0], W = image.shape()[1];
  Tensor src = image;
  const uint8_t* in = src.data<uint8_t>();
  Tensor out = Tensor::empty({oh, ow, 3}, DType::u8);
  uint8_t* o = out.data<uint8_t>();
  const Affine inv = invert(m);
  // Output pixel centre (x+0.5, y+0.5) -> source point p; in pixel-index space the sample sits at
  // p - 0.5 and is interpolated from its 4 neighbours; neighbours outside the image count as `fill`.
  auto at = [&](int64_t yy, int64_t xx, int ch) -> double {
    if (yy < 0 || yy >= H || xx < 0 || xx >= W) return fill;
    return in[(yy * W + xx) * 3 + ch];
  };
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x = 0; x < ow; ++x) {
      auto p = inv.apply(x + 0.5, y + 0.5);
      double sx = p[0] - 0.5, sy = p[1] - 0.5;
      uint8_t* px = o + (y * ow + x) * 3;
      if (sx <= -1 || sy <= -1 || sx >= W || sy >= H) {
        px[0] = px[1] = px[2] = fill;
        continue;
      }
      int64_t x0 = (int64_t)std::floor(sx), y0 = (int64_t)std::floor(sy);
      double fx = sx - x0, fy = sy - y0;
      for (int ch = 0; ch < 3; ++ch) {
        double top = at(y0, x0, ch) * (1 - fx) + at(y0, x0 + 1, ch) * fx;
        double bot = at(y0 + 1, x0, ch) * (1 - fx) + at(y0 + 1, x0 + 1, ch) * fx;
        px[ch] = to_u8(top * (1 - fy) + bot * fy);
      }
    }
  return out;
}

std::vector<Box> transform_boxes(const std::vector<Box>& boxes, const Affine& m, int64_t oh, int64_t ow, float min_size,
                                 std::vector<int64_t>* kept) {
  std::vector<Box> r;
  if (kept) kept->clear();
  for (size_t i = 0; i < boxes.size(); ++i) {
    Box b = map_box(m, boxes[i]);
    b[0] = std::clamp(b[0], 0.0f, (float)ow), b[2] = std::clamp(b[2], 0.0f, (float)ow);
    b[1] = std::clamp(b[1], 0.0f, (float)oh), b[3] = std::clamp(b[3], 0.0f, (float)oh);
    // Empty boxes (fully outside) have zero width after clipping; min_size 0 still drops those.
    if (b[2] - b[0] <= 0 || b[3] - b[1] <= 0 || b[2] - b[0] < min_size || b[3] - b[1] < min_size) continue;
    r.push_back(b);
    if (kept) kept->push_back((int64_t)i);
  }
  return r;
}

Affine center_scale_affine(double cx, double cy, double side, int64_t oh, int64_t ow) {
  check(side > 0, "center_scale_affine: side must be positive, got ", side);
  // The source square's longer output side spans the output: p' = (p - c) * k + out/2.
  double k = (double)std::max(oh, ow) / side;
  Affine m;
  m.a = k, m.d = k;
  m.tx = ow / 2.0 - k * cx;
  m.ty = oh / 2.0 - k * cy;
  return m;
}

Augmented augment(const Scene& s, const AugmentConfig& cfg, Generator& gen) {
  check_scene(s, "augment");
  cfg.validate();
  const int64_t H = s.image.shape()[0], W = s.image.shape()[1];
  const int64_t oh = cfg.out_height ? cfg.out_height : H, ow = cfg.out_width ? cfg.out_width : W;
  Augmented r;
  Affine flip_m;
  if (cfg.flip && gen.uniform01() < cfg.flip_prob) {
    r.flipped = true;
    flip_m.a = -1, flip_m.tx = (double)W;  // x' = W - x
  }
  double scale = 1, dx = 0, dy = 0;
  if (cfg.random_affine) {
    scale = cfg.scale_lo + (cfg.scale_hi - cfg.scale_lo) * gen.uniform01();
    dx = cfg.shift * (2 * gen.uniform01() - 1) * W;
    dy = cfg.shift * (2 * gen.uniform01() - 1) * H;
  }
  Affine crop = center_scale_affine(W / 2.0 + dx, H / 2.0 + dy, std::max(H, W) * scale, oh, ow);
  r.transform = compose(crop, flip_m);
  // One warp for flip + crop: the image is resampled once.
  r.scene.image = warp_affine(s.image, r.transform, oh, ow, cfg.fill);
  r.scene.boxes = transform_boxes(s.boxes, r.transform, oh, ow, cfg.min_box_size, &r.kept);
  for (int64_t i : r.kept) r.scene.labels.push_back(s.labels[(size_t)i]);

  if (cfg.color) {
    double fb = 1 + cfg.brightness * (2 * gen.uniform01() - 1);
    double fc = 1 + cfg.contrast * (2 * gen.uniform01() - 1);
    double fs = 1 + cfg.saturation * (2 * gen.uniform01() - 1);
    uint8_t* p = r.scene.image.data<uint8_t>();
    const int64_t n = oh * ow;
    std::vector<double> v((size_t)n * 3);
    double grey_sum = 0;                                           // a fixed sequential order: same bits every run
    for (int64_t i = 0; i < n * 3; ++i) v[(size_t)i] = p[i] * fb;  // brightness: x * fb
    for (int64_t i = 0; i < n; ++i)
      grey_sum += 0.299 * v[(size_t)i * 3] + 0.587 * v[(size_t)i * 3 + 1] + 0.114 * v[(size_t)i * 3 + 2];
    const double mean = grey_sum / (double)n;
    for (int64_t i = 0; i < n; ++i) {
      double* q = &v[(size_t)i * 3];
      for (int ch = 0; ch < 3; ++ch) q[ch] = mean + fc * (q[ch] - mean);  // contrast: around the grey mean
      double g = 0.299 * q[0] + 0.587 * q[1] + 0.114 * q[2];
      for (int ch = 0; ch < 3; ++ch) p[i * 3 + ch] = to_u8(g + fs * (q[ch] - g));  // saturation: around grey
    }
  }
  return r;
}

}  // namespace dg::data
