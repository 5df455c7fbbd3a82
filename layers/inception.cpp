#include "layers/inception.h"

#include "autograd/ops.h"

namespace dg::nn {

BasicConv2d::BasicConv2d(int64_t in, int64_t out, int64_t k, Generator& gen, int64_t stride, int64_t padding)
    : Module("BasicConv2d") {
  conv = register_module("conv",
                         std::make_shared<Conv2d>(in, out, k, gen,
                                                  Conv2dOptions{.stride = stride, .padding = padding, .bias = false}));
  bn = register_module("bn", std::make_shared<BatchNorm2d>(out, BatchNormOptions{.eps = 0.001}));
}

Tensor BasicConv2d::forward(const Tensor& x) { return relu((*bn)((*conv)(x))); }

Inception::Inception(int64_t in, const InceptionChannels& ch, Generator& gen)
    : Module("Inception"), in_channels(in), out_channels(ch.c1 + ch.c3 + ch.c5 + ch.pool_proj) {
  branch1 = register_module("branch1", std::make_shared<BasicConv2d>(in, ch.c1, 1, gen));
  branch2 = register_module("branch2", std::make_shared<Sequential>(std::vector<ModulePtr>{
                                           std::make_shared<BasicConv2d>(in, ch.c3_reduce, 1, gen),
                                           std::make_shared<BasicConv2d>(ch.c3_reduce, ch.c3, 3, gen, 1, 1)}));
  branch3 = register_module("branch3", std::make_shared<Sequential>(std::vector<ModulePtr>{
                                           std::make_shared<BasicConv2d>(in, ch.c5_reduce, 1, gen),
                                           std::make_shared<BasicConv2d>(ch.c5_reduce, ch.c5, 5, gen, 1, 2)}));
  // ceil_mode as torchvision; with kernel 3, stride 1, padding 1 it changes nothing (output = input size).
  branch4 = register_module("branch4", std::make_shared<Sequential>(std::vector<ModulePtr>{
                                           std::make_shared<MaxPool2d>(Size2{3}, Size2{1}, Size2{1}, true),
                                           std::make_shared<BasicConv2d>(in, ch.pool_proj, 1, gen)}));
}

Tensor Inception::forward(const Tensor& x) {
  check(x.dim() == 4 && x.size(1) == in_channels, "Inception: expected input [N, ", in_channels, ", H, W], got ",
        shape_text(x.shape()));
  return cat({(*branch1)(x), (*branch2)(x), (*branch3)(x), (*branch4)(x)}, 1);
}

}  // namespace dg::nn
