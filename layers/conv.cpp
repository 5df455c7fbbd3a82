#include "layers/conv.h"

#include <cmath>

#include "layers/init.h"

namespace dg::nn {

namespace {
std::string hw_str(Hw v) { return "(" + std::to_string(v.h) + ", " + std::to_string(v.w) + ")"; }

// PyTorch's reset_parameters for both conv layers: weight kaiming_uniform_(a = sqrt(5)), bias
// U(+-1/sqrt(fan_in)) with the weight's fan_in.
void default_init(Tensor& weight, Tensor& bias, Generator& gen) {
  init::kaiming_uniform_(weight, std::sqrt(5.0), gen);
  if (bias.defined()) {
    const double b = 1.0 / std::sqrt((double)init::fan_in(weight));
    init::uniform_(bias, -b, b, gen);
  }
}
}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, Hw k, Generator& gen, Conv2dOptions o)
    : Module("Conv2d"), in_channels(in), out_channels(out), kernel_size(k), opt(o) {
  check(in > 0 && out > 0 && k.h > 0 && k.w > 0 && o.groups > 0 && in % o.groups == 0 && out % o.groups == 0,
        "Conv2d: invalid configuration in=", in, " out=", out, " kernel=", hw_str(k), " groups=", o.groups,
        " (channels must be positive multiples of groups)");
  weight = register_parameter("weight", Tensor::empty({out, in / o.groups, k.h, k.w}));
  if (o.bias) bias = register_parameter("bias", Tensor::empty({out}));
  default_init(weight, bias, gen);
}

Tensor Conv2d::forward(const Tensor& x) {
  check(x.dim() == 4 && x.size(1) == in_channels, "Conv2d(", in_channels, ", ", out_channels, "): expected input [N, ",
        in_channels, ", H, W], got ", shape_text(x.shape()));
  return conv2d(x, weight, bias, opt.stride, opt.padding, opt.dilation, opt.groups);
}

int64_t Conv2d::multiply_adds(const Tensor& output) const {
  return output.numel() * (in_channels / opt.groups) * kernel_size.h * kernel_size.w;
}

std::string Conv2d::extra_repr() const {
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel_size=" + hw_str(kernel_size) + ", stride=" + hw_str(opt.stride);
  if (!(opt.padding == Hw(0))) s += ", padding=" + hw_str(opt.padding);
  if (!(opt.dilation == Hw(1))) s += ", dilation=" + hw_str(opt.dilation);
  if (opt.groups != 1) s += ", groups=" + std::to_string(opt.groups);
  if (!opt.bias) s += ", bias=False";
  return s;
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, Hw k, Generator& gen, ConvTranspose2dOptions o)
    : Module("ConvTranspose2d"), in_channels(in), out_channels(out), kernel_size(k), opt(o) {
  check(in > 0 && out > 0 && k.h > 0 && k.w > 0 && o.groups > 0 && in % o.groups == 0 && out % o.groups == 0,
        "ConvTranspose2d: invalid configuration in=", in, " out=", out, " kernel=", hw_str(k), " groups=", o.groups,
        " (channels must be positive multiples of groups)");
  weight = register_parameter("weight", Tensor::empty({in, out / o.groups, k.h, k.w}));
  if (o.bias) bias = register_parameter("bias", Tensor::empty({out}));
  default_init(weight, bias, gen);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  check(x.dim() == 4 && x.size(1) == in_channels, "ConvTranspose2d(", in_channels, ", ", out_channels,
        "): expected input [N, ", in_channels, ", H, W], got ", shape_text(x.shape()));
  return conv_transpose2d(x, weight, bias, opt.stride, opt.padding, opt.output_padding, opt.groups, opt.dilation);
}

int64_t ConvTranspose2d::multiply_adds(const Tensor& output) const {
  // H_out = (H_in - 1) s - 2p + d (k - 1) + output_padding + 1, solved for H_in.
  auto in_size = [](int64_t out, int64_t k, int64_t s, int64_t p, int64_t d, int64_t op) {
    return (out - 1 + 2 * p - d * (k - 1) - op) / s + 1;
  };
  const int64_t h = in_size(output.size(2), kernel_size.h, opt.stride.h, opt.padding.h, opt.dilation.h,
                            opt.output_padding.h);
  const int64_t w = in_size(output.size(3), kernel_size.w, opt.stride.w, opt.padding.w, opt.dilation.w,
                            opt.output_padding.w);
  return output.size(0) * in_channels * h * w * (out_channels / opt.groups) * kernel_size.h * kernel_size.w;
}

std::string ConvTranspose2d::extra_repr() const {
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel_size=" + hw_str(kernel_size) + ", stride=" + hw_str(opt.stride);
  if (!(opt.padding == Hw(0))) s += ", padding=" + hw_str(opt.padding);
  if (!(opt.output_padding == Hw(0))) s += ", output_padding=" + hw_str(opt.output_padding);
  if (opt.groups != 1) s += ", groups=" + std::to_string(opt.groups);
  if (!opt.bias) s += ", bias=False";
  return s;
}

}  // namespace dg::nn
