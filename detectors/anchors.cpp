// RetinaNet anchors (see anchors.h). Legend: A anchors per location, s a level's stride.
#include "detectors/anchors.h"

#include <cmath>

#include "autograd/error.h"
#include "detectors/conventions.h"

namespace dg {

namespace {
void check_anchor_options(const char* op, const AnchorOptions& opt) {
  check(opt.image_h > 0 && opt.image_w > 0, op, ": image size must be positive, got ", opt.image_h, "x", opt.image_w);
  check(!opt.strides.empty(), op, ": need at least one stride");
  for (int64_t s : opt.strides) check(s > 0, op, ": strides must be positive, got ", s);
  check(opt.sizes.empty() || opt.sizes.size() == opt.strides.size(), op, ": ", opt.sizes.size(), " sizes for ",
        opt.strides.size(), " strides");
  check(!opt.ratios.empty(), op, ": need at least one aspect ratio");
  for (double r : opt.ratios) check(r > 0, op, ": aspect ratios must be positive, got ", r);
  for (double sc : opt.scales) check(sc > 0, op, ": scales must be positive, got ", sc);
}

std::vector<double> octave_scales(const AnchorOptions& opt) {
  if (!opt.scales.empty()) return opt.scales;
  return {1.0, std::pow(2.0, 1.0 / 3.0), std::pow(2.0, 2.0 / 3.0)};
}

// The anchor math in T (torchvision computes it in the features' dtype, usually f32).
template <class T>
std::vector<double> cell(double size, const AnchorOptions& opt) {
  std::vector<double> out;
  for (double ratio : opt.ratios) {
    const T h_ratio = std::sqrt(T(ratio)), w_ratio = T(1) / h_ratio;
    for (double scale : octave_scales(opt)) {
      // torchvision: sizes = tuple(int(x * 2 ** (i / 3)) ...): truncated toward zero.
      const T s = opt.anchor_round ? T(std::trunc(size * scale)) : T(size * scale);
      const T w = w_ratio * s, h = h_ratio * s;
      T box[4] = {-w / T(2), -h / T(2), w / T(2), h / T(2)};
      for (T& v : box) out.push_back(opt.anchor_round ? double(std::nearbyint(v)) : double(v));
    }
  }
  return out;
}
}  // namespace

void apply_preset(AnchorOptions& opt, const std::string& preset) {
  check_convention_preset("anchors", preset);
  opt.anchor_round = preset == "torchvision";
}

Tensor cell_anchors(double size, const AnchorOptions& opt, DType dtype) {
  check_anchor_options("cell_anchors", opt);
  check(size > 0, "cell_anchors: size must be positive, got ", size);
  check(dtype == DType::f32 || dtype == DType::f64, "cell_anchors: dtype must be f32 or f64, got ", dtype_name(dtype));
  std::vector<double> v = dtype == DType::f32 ? cell<float>(size, opt) : cell<double>(size, opt);
  return from_vector(v, {(int64_t)v.size() / 4, 4}, dtype);
}

Tensor retinanet_anchors(const AnchorOptions& opt, DType dtype, std::vector<int64_t>* level_sizes) {
  check_anchor_options("anchors", opt);
  check(dtype == DType::f32 || dtype == DType::f64, "anchors: dtype must be f32 or f64, got ", dtype_name(dtype));
  std::vector<double> all;
  if (level_sizes) level_sizes->clear();
  for (size_t l = 0; l < opt.strides.size(); ++l) {
    const int64_t s = opt.strides[l];
    const double size = opt.sizes.empty() ? 4.0 * double(s) : opt.sizes[l];
    const std::vector<double> base = dtype == DType::f32 ? cell<float>(size, opt) : cell<double>(size, opt);
    const int64_t A = (int64_t)base.size() / 4;
    const int64_t h = (opt.image_h + s - 1) / s, w = (opt.image_w + s - 1) / s;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int64_t a = 0; a < A; ++a) {
          const double sx = double(x * s), sy = double(y * s);
          // The shift is added in the anchors' dtype, as torchvision adds f32 tensors.
          const double* b = &base[(size_t)(4 * a)];
          if (dtype == DType::f32) {
            all.push_back(double(float(sx) + float(b[0])));
            all.push_back(double(float(sy) + float(b[1])));
            all.push_back(double(float(sx) + float(b[2])));
            all.push_back(double(float(sy) + float(b[3])));
          } else {
            all.push_back(sx + b[0]), all.push_back(sy + b[1]), all.push_back(sx + b[2]), all.push_back(sy + b[3]);
          }
        }
    if (level_sizes) level_sizes->push_back(h * w * A);
  }
  return from_vector(all, {(int64_t)all.size() / 4, 4}, dtype);
}

}  // namespace dg
