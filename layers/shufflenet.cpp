#include "layers/shufflenet.h"

#include "autograd/ops.h"
#include "autograd/ops/channel_shuffle.h"

namespace dg::nn {

namespace {
ModulePtr conv1x1(int64_t in, int64_t out, Generator& gen) {
  return std::make_shared<Conv2d>(in, out, 1, gen, Conv2dOptions{.bias = false});
}
ModulePtr depthwise(int64_t c, int64_t k, int64_t stride, Generator& gen) {
  return std::make_shared<Conv2d>(c, c, k, gen,
                                  Conv2dOptions{.stride = stride, .padding = k / 2, .groups = c, .bias = false});
}
ModulePtr bn(int64_t c) { return std::make_shared<BatchNorm2d>(c); }
ModulePtr relu() { return std::make_shared<ReLU>(); }
}  // namespace

ShuffleNetUnit::ShuffleNetUnit(int64_t in, int64_t out, int64_t s, Generator& gen, int64_t k)
    : Module("ShuffleNetUnit"), in_channels(in), out_channels(out), stride(s) {
  check(s == 1 || s == 2, "ShuffleNetUnit: stride must be 1 or 2, got ", s);
  check(out % 2 == 0, "ShuffleNetUnit: out channels must be even, got ", out);
  check(k % 2 == 1, "ShuffleNetUnit: depthwise kernel must be odd, got ", k);
  const int64_t c = out / 2;
  check(s == 2 || in == out, "ShuffleNetUnit: a stride-1 unit needs in == out, got in=", in, " out=", out);
  branch1 = register_module("branch1", std::make_shared<Sequential>());
  if (s == 2) {
    for (ModulePtr m : {depthwise(in, k, s, gen), bn(in), conv1x1(in, c, gen), bn(c), relu()}) branch1->push_back(m);
  }
  const int64_t in2 = s == 2 ? in : c;
  branch2 = register_module("branch2",
                            std::make_shared<Sequential>(std::vector<ModulePtr>{conv1x1(in2, c, gen), bn(c), relu(),
                                                                                depthwise(c, k, s, gen), bn(c),
                                                                                conv1x1(c, c, gen), bn(c), relu()}));
}

Tensor ShuffleNetUnit::forward(const Tensor& x) {
  check(x.dim() == 4 && x.size(1) == in_channels, "ShuffleNetUnit(", in_channels, " -> ", out_channels,
        "): expected input [N, ", in_channels, ", H, W], got ", shape_text(x.shape()));
  Tensor out;
  if (stride == 1) {
    std::vector<Tensor> halves = chunk(x, 2, 1);
    out = cat({halves[0], (*branch2)(halves[1])}, 1);
  } else {
    out = cat({(*branch1)(x), (*branch2)(x)}, 1);
  }
  return channel_shuffle(out, 2);
}

ShuffleNetV2::ShuffleNetV2(const ShuffleNetV2Options& o, Generator& gen) : Backbone("ShuffleNetV2"), opt(o) {
  check(o.repeats.size() == 3 && (o.widths.size() == 4 || o.widths.size() == 5),
        "ShuffleNetV2: need 3 stage repeats and 4 or 5 widths, got ", o.repeats.size(), " and ", o.widths.size());
  const auto& w = o.widths;
  conv1 = register_module(
      "conv1", std::make_shared<Sequential>(std::vector<ModulePtr>{
                   std::make_shared<Conv2d>(3, w[0], 3, gen, Conv2dOptions{.stride = 2, .padding = 1, .bias = false}),
                   bn(w[0]), relu()}));
  maxpool = register_module("maxpool", std::make_shared<MaxPool2d>(Size2{3}, Size2{2}, Size2{1}));
  std::shared_ptr<Sequential>* stages[3] = {&stage2, &stage3, &stage4};
  int64_t in = w[0];
  for (int i = 0; i < 3; ++i) {
    auto seq = std::make_shared<Sequential>();
    const int64_t out = w[(size_t)i + 1];
    seq->push_back(std::make_shared<ShuffleNetUnit>(in, out, 2, gen, o.dw_kernel));
    for (int64_t r = 1; r < o.repeats[(size_t)i]; ++r)
      seq->push_back(std::make_shared<ShuffleNetUnit>(out, out, 1, gen, o.dw_kernel));
    *stages[i] = register_module("stage" + std::to_string(i + 2), seq);
    in = out;
  }
  if (w.size() == 5) {
    conv5 = register_module("conv5", std::make_shared<Sequential>(
                                         std::vector<ModulePtr>{conv1x1(in, w[4], gen), bn(w[4]), relu()}));
    in = w[4];
  }
  if (o.include_top) fc = register_module("fc", std::make_shared<Linear>(in, o.num_classes, gen));
}

std::vector<Tensor> ShuffleNetV2::features(const Tensor& x) {
  const std::unique_ptr<ScopeGuard> scope = enter_scope();
  check(x.dim() == 4 && x.size(1) == 3, "ShuffleNetV2: expected input [N, 3, H, W], got ", shape_text(x.shape()));
  Tensor c2 = (*maxpool)((*conv1)(x));
  Tensor c3 = (*stage2)(c2);
  Tensor c4 = (*stage3)(c3);
  Tensor c5 = (*stage4)(c4);
  return {c2, c3, c4, c5};
}

std::vector<int64_t> ShuffleNetV2::feature_channels() const {
  return {opt.widths[0], opt.widths[1], opt.widths[2], opt.widths[3]};
}

// torchvision: conv5, then x.mean([2, 3]) (global average), then fc.
Tensor ShuffleNetV2::forward(const Tensor& x) {
  check(fc != nullptr, "ShuffleNetV2: built without include_top: use features()");
  Tensor y = features(x)[3];
  if (conv5) y = (*conv5)(y);
  return (*fc)(mean(y, {2, 3}));
}

std::shared_ptr<ShuffleNetV2> shufflenet_v2_x0_5(Generator& gen, int64_t num_classes) {
  return std::make_shared<ShuffleNetV2>(
      ShuffleNetV2Options{.repeats = {4, 8, 4}, .widths = {24, 48, 96, 192, 1024}, .num_classes = num_classes}, gen);
}

std::shared_ptr<ShuffleNetV2> shufflenet_v2_x1_0(Generator& gen, int64_t num_classes) {
  return std::make_shared<ShuffleNetV2>(
      ShuffleNetV2Options{.repeats = {4, 8, 4}, .widths = {24, 116, 232, 464, 1024}, .num_classes = num_classes}, gen);
}

std::shared_ptr<ShuffleNetV2> snet(int size, Generator& gen, int64_t num_classes) {
  std::vector<int64_t> widths;
  if (size == 49) widths = {24, 60, 120, 240, 512};
  else if (size == 146) widths = {24, 132, 264, 528};
  else if (size == 535) widths = {48, 248, 496, 992};
  else fail("snet: size must be 49, 146 or 535, got ", size);
  return std::make_shared<ShuffleNetV2>(
      ShuffleNetV2Options{.repeats = {4, 8, 4}, .widths = widths, .dw_kernel = 5, .num_classes = num_classes}, gen);
}

}  // namespace dg::nn
