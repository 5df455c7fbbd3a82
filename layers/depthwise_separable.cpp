#include "layers/depthwise_separable.h"

namespace dg::nn {

DepthwiseSeparable::DepthwiseSeparable(int64_t in, int64_t out, Generator& gen, int64_t stride, int64_t k)
    : Module("DepthwiseSeparable") {
  check(k % 2 == 1, "DepthwiseSeparable: kernel must be odd, got ", k);
  depthwise = register_module(
      "depthwise", std::make_shared<Conv2d>(
                       in, in, k, gen, Conv2dOptions{.stride = stride, .padding = k / 2, .groups = in, .bias = false}));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(in));
  pointwise = register_module("pointwise", std::make_shared<Conv2d>(in, out, 1, gen, Conv2dOptions{.bias = false}));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(out));
  relu = register_module("relu", std::make_shared<ReLU>());
}

Tensor DepthwiseSeparable::forward(const Tensor& x) {
  Tensor y = (*relu)((*bn1)((*depthwise)(x)));
  return (*relu)((*bn2)((*pointwise)(y)));
}

}  // namespace dg::nn
