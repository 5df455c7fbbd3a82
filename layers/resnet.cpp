#include "layers/resnet.h"

#include <cmath>

#include "autograd/ops.h"
#include "layers/init.h"

namespace dg::nn {

namespace {
std::shared_ptr<Conv2d> conv3x3(int64_t in, int64_t out, int64_t stride, Generator& gen) {
  return std::make_shared<Conv2d>(in, out, 3, gen, Conv2dOptions{.stride = stride, .padding = 1, .bias = false});
}
}  // namespace

BasicBlock::BasicBlock(int64_t in, int64_t planes, int64_t stride, Generator& gen) : Module("BasicBlock") {
  conv1 = register_module("conv1", conv3x3(in, planes, stride, gen));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  relu = register_module("relu", std::make_shared<ReLU>());
  conv2 = register_module("conv2", conv3x3(planes, planes, 1, gen));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  if (stride != 1 || in != planes) {
    downsample = register_module(
        "downsample", std::make_shared<Sequential>(std::vector<ModulePtr>{
                          std::make_shared<Conv2d>(in, planes, 1, gen, Conv2dOptions{.stride = stride, .bias = false}),
                          std::make_shared<BatchNorm2d>(planes)}));
  }
}

// out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))
Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = (*relu)((*bn1)((*conv1)(x)));
  out = (*bn2)((*conv2)(out));
  Tensor identity = downsample ? (*downsample)(x) : x;
  return (*relu)(add(out, identity));
}

ResNet::ResNet(const ResNetOptions& o, Generator& gen) : Backbone("ResNet"), opt(o) {
  std::vector<int64_t> blocks;
  if (o.depth == 18) blocks = {2, 2, 2, 2};
  else if (o.depth == 34) blocks = {3, 4, 6, 3};
  else fail("ResNet: depth must be 18 or 34 (BasicBlock networks), got ", o.depth);
  check(o.width_mult > 0, "ResNet: width_mult must be positive, got ", o.width_mult);
  widths = resnet_widths(o.width_mult);

  conv1 = register_module("conv1", std::make_shared<Conv2d>(3, widths[0], 7, gen,
                                                            Conv2dOptions{.stride = 2, .padding = 3, .bias = false}));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(widths[0]));
  relu = register_module("relu", std::make_shared<ReLU>());
  maxpool = register_module("maxpool", std::make_shared<MaxPool2d>(Size2{3}, Size2{2}, Size2{1}));
  int64_t in = widths[0];
  std::shared_ptr<Sequential>* layers[4] = {&layer1, &layer2, &layer3, &layer4};
  for (int i = 0; i < 4; ++i) {
    auto seq = std::make_shared<Sequential>();
    for (int64_t b = 0; b < blocks[(size_t)i]; ++b) {
      const int64_t stride = (i > 0 && b == 0) ? 2 : 1;
      seq->push_back(std::make_shared<BasicBlock>(in, widths[(size_t)i], stride, gen));
      in = widths[(size_t)i];
    }
    *layers[i] = register_module("layer" + std::to_string(i + 1), seq);
  }
  if (o.include_top) {
    avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(Size2{1, 1}));
    fc = register_module("fc", std::make_shared<Linear>(widths[3], o.num_classes, gen));
  }
  // torchvision's ResNet init (after the layers' own defaults; fc keeps Linear's default).
  for (auto& [name, m] : named_modules()) {
    if (auto* c = dynamic_cast<Conv2d*>(m)) init::kaiming_normal_fan_out_(c->weight, gen);
  }
}

std::vector<Tensor> ResNet::features(const Tensor& x) {
  const std::unique_ptr<ScopeGuard> scope = enter_scope();
  check(x.dim() == 4 && x.size(1) == 3, "ResNet: expected input [N, 3, H, W], got ", shape_text(x.shape()));
  Tensor y = (*maxpool)((*relu)((*bn1)((*conv1)(x))));
  Tensor c2 = (*layer1)(y);
  Tensor c3 = (*layer2)(c2);
  Tensor c4 = (*layer3)(c3);
  Tensor c5 = (*layer4)(c4);
  return {c2, c3, c4, c5};
}

Tensor ResNet::forward(const Tensor& x) {
  check(fc != nullptr, "ResNet: built without include_top: use features()");
  Tensor c5 = features(x)[3];
  Tensor pooled = flatten((*avgpool)(c5), 1);  // [N, C5]
  return (*fc)(pooled);
}

std::vector<int64_t> resnet_widths(double width_mult) {
  std::vector<int64_t> w;
  for (int64_t base : {64, 128, 256, 512}) w.push_back(std::max<int64_t>(1, std::llround(base * width_mult)));
  return w;
}

int64_t resnet18_backbone_parameters(double width_mult) {
  const std::vector<int64_t> w = resnet_widths(width_mult);
  int64_t n = 147 * w[0] + 2 * w[0], in = w[0];
  for (int s = 0; s < 4; ++s) {
    const int64_t p = w[(size_t)s];
    for (int b = 0; b < 2; ++b) {
      const int64_t stride = (b == 0 && s > 0) ? 2 : 1;
      n += 9 * in * p + 9 * p * p + 4 * p;
      if (stride != 1 || in != p) n += in * p + 2 * p;
      in = p;
    }
  }
  return n;
}

std::shared_ptr<ResNet> resnet18(Generator& gen, int64_t num_classes, double width_mult) {
  return std::make_shared<ResNet>(ResNetOptions{.depth = 18, .width_mult = width_mult, .num_classes = num_classes},
                                  gen);
}

std::shared_ptr<ResNet> resnet34(Generator& gen, int64_t num_classes, double width_mult) {
  return std::make_shared<ResNet>(ResNetOptions{.depth = 34, .width_mult = width_mult, .num_classes = num_classes},
                                  gen);
}

}  // namespace dg::nn
