#include "layers/pool.h"

#include "autograd/ops/dropout.h"

namespace dg::nn {

namespace {
std::string size_str(const Size2& s) {
  if (s.size() == 1) return std::to_string(s[0]);
  return shape_str(s);
}
}  // namespace

MaxPool2d::MaxPool2d(Size2 k, Size2 s, Size2 p, bool c)
    : Module("MaxPool2d"), kernel_size(std::move(k)), stride(std::move(s)), padding(std::move(p)), ceil_mode(c) {}

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel_size, stride, padding, {1}, ceil_mode); }

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + size_str(kernel_size) + ", stride=" + size_str(stride.empty() ? kernel_size : stride) +
         ", padding=" + size_str(padding) + (ceil_mode ? ", ceil_mode=True" : "");
}

AvgPool2d::AvgPool2d(Size2 k, Size2 s, Size2 p, bool c, bool cip)
    : Module("AvgPool2d"), kernel_size(std::move(k)), stride(std::move(s)), padding(std::move(p)), ceil_mode(c),
      count_include_pad(cip) {}

Tensor AvgPool2d::forward(const Tensor& x) {
  return avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad);
}

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + size_str(kernel_size) + ", stride=" + size_str(stride.empty() ? kernel_size : stride) +
         ", padding=" + size_str(padding);
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2 o) : Module("AdaptiveAvgPool2d"), output_size(std::move(o)) {}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_size); }

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + size_str(output_size); }

Upsample::Upsample(InterpolateOptions o) : Module("Upsample"), opt(std::move(o)) {}

Tensor Upsample::forward(const Tensor& x) { return interpolate(x, opt); }

std::string Upsample::extra_repr() const {
  std::string s = opt.size.empty() ? "scale_factor=" : "size=" + shape_str(opt.size);
  if (opt.size.empty()) {
    for (size_t i = 0; i < opt.scale_factor.size(); ++i) s += (i ? "," : "") + std::to_string(opt.scale_factor[i]);
  }
  return s + ", mode=" + interp_mode_name(opt.mode);
}

Dropout::Dropout(double p_, uint64_t seed) : Module("Dropout"), p(p_), gen(seed) {
  check(p >= 0 && p <= 1, "Dropout: p must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training(), gen); }

std::string Dropout::extra_repr() const { return "p=" + std::to_string(p); }

}  // namespace dg::nn
