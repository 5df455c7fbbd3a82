// Detection augmentation for Scene samples (u8 image [H,W,3] + xyxy pixel boxes + labels), the
// CenterNet recipe: random horizontal flip, random scale + centre shift through ONE affine warp to a
// fixed output size, and colour jitter. Every random draw comes from the dg::Generator passed in, so
// a sample's augmentation is a pure function of (sample, config, generator state).
//
// Coordinates are continuous pixels: pixel column i covers [i, i+1), its centre is i + 0.5; boxes are
// x1, y1, x2, y2 with x2/y2 exclusive (as fashion_scenes). The transform that was applied (flip and
// affine composed) is returned so predictions on the output image can be mapped back with invert().
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "autograd/generator.h"
#include "detectors/data/fashion_scenes.h"

namespace dg::data {

using Box = std::array<float, 4>;  // x1, y1, x2, y2

// 2x3 affine map: x' = a*x + b*y + tx, y' = c*x + d*y + ty.
struct Affine {
  double a = 1, b = 0, tx = 0, c = 0, d = 1, ty = 0;
  std::array<double, 2> apply(double x, double y) const { return {a * x + b * y + tx, c * x + d * y + ty}; }
};
Affine compose(const Affine& outer, const Affine& inner);  // outer(inner(p))
Affine invert(const Affine& m);                            // dg::Error "affine invert: ..." if singular
// Box image of the 4 corners (min/max), not clipped.
Box map_box(const Affine& m, const Box& box);

struct AugmentConfig {
  bool flip = true;
  double flip_prob = 0.5;
  // Scale + crop: the source square of side max(H,W) * s, s ~ U[scale_lo, scale_hi], centred at the
  // image centre + U[-shift, shift] * (W, H), is mapped onto the output. With random_affine off the
  // same warp is used with s = 1 and no shift (a deterministic letterbox to the output size).
  bool random_affine = true;
  double scale_lo = 0.6, scale_hi = 1.4, shift = 0.2;
  int64_t out_height = 0, out_width = 0;  // 0: the input's size
  uint8_t fill = 0;                       // value of output pixels that fall outside the source
  float min_box_size = 1.0f;              // boxes narrower or lower than this after clipping are dropped
  // Colour jitter: factors U[1 - x, 1 + x] for brightness, contrast (around the image's grey mean)
  // and saturation (around each pixel's grey), applied in that order.
  bool color = true;
  double brightness = 0.3, contrast = 0.3, saturation = 0.3;
  void validate() const;  // dg::Error "augment: ..." for impossible values
};

struct Augmented {
  Scene scene;       // augmented image, kept boxes and their labels (masks are not transformed: empty)
  Affine transform;  // input pixel coords -> output pixel coords (flip included)
  bool flipped = false;
  std::vector<int64_t> kept;  // index in the input of each output box
};

// Horizontal flip of an image [H,W,3] and its boxes: column i -> W-1-i, x1' = W - x2, x2' = W - x1.
Scene hflip(const Scene& s);

// Bilinear warp of a u8 [H,W,3] image: out(p) = in(inv(p)) sampled at pixel centres; outside => fill.
Tensor warp_affine(const Tensor& image, const Affine& m, int64_t out_h, int64_t out_w, uint8_t fill = 0);

// Transform boxes with m, clip to [0,out_w]x[0,out_h], drop those with width or height < min_size.
// Returns the kept boxes; `kept` receives their indices in the input.
std::vector<Box> transform_boxes(const std::vector<Box>& boxes, const Affine& m, int64_t out_h, int64_t out_w,
                                 float min_size, std::vector<int64_t>* kept = nullptr);

// The CenterNet affine for a source square of side `side` centred at (cx, cy) onto an out_w x out_h image.
Affine center_scale_affine(double cx, double cy, double side, int64_t out_h, int64_t out_w);

// Apply the whole pipeline (flip -> affine -> colour). Draws, in this order: flip, scale, shift x,
// shift y, brightness, contrast, saturation (each only when its part is on).
Augmented augment(const Scene& s, const AugmentConfig& cfg, Generator& gen);

}  // namespace dg::data
