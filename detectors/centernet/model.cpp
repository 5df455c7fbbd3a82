// CenterNet model: see model.h for the architecture and the state_dict names.
#include "detectors/centernet/model.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "layers/init.h"
#include "layers/trunk.h"

namespace dg::centernet {

CenterNetConfig CenterNetConfig::cpu(int64_t num_classes) {
  CenterNetConfig c;
  c.num_classes = num_classes;
  c.width_mult = 0.25;
  c.up_channels = {64, 32, 32};
  c.head_channels = 32;
  return c;
}

UpStage::UpStage(int64_t in, int64_t out, Generator& gen) : Module("UpStage") {
  nn::ConvTranspose2dOptions o;
  o.stride = 2;
  o.padding = 1;
  o.bias = false;
  conv = register_module("conv", std::make_shared<nn::ConvTranspose2d>(in, out, 4, gen, o));
  bn = register_module("bn", std::make_shared<nn::BatchNorm2d>(out));
  relu = register_module("relu", std::make_shared<nn::ReLU>());
}

// (H, W) -> (2H, 2W): (H-1)*2 - 2*1 + 4 = 2H.
Tensor UpStage::forward(const Tensor& x) { return (*relu)((*bn)((*conv)(x))); }

namespace {
// 3x3 conv (bias) -> ReLU -> 1x1 conv (bias); children "0", "1", "2".
std::shared_ptr<nn::Sequential> make_head(int64_t in, int64_t mid, int64_t out, Generator& gen) {
  nn::Conv2dOptions o3;
  o3.padding = 1;
  auto seq = std::make_shared<nn::Sequential>();
  seq->push_back(std::make_shared<nn::Conv2d>(in, mid, 3, gen, o3));
  seq->push_back(std::make_shared<nn::ReLU>());
  seq->push_back(std::make_shared<nn::Conv2d>(mid, out, 1, gen));
  return seq;
}
}  // namespace

CenterNet::CenterNet(const CenterNetConfig& c, Generator& gen) : Detector("CenterNet"), cfg(c) {
  check(cfg.num_classes >= 1, "CenterNet: num_classes must be >= 1, got ", cfg.num_classes);
  check(cfg.up_channels.size() == 3, "CenterNet: up_channels needs 3 widths, got ", cfg.up_channels.size());
  check(cfg.head_channels >= 1 && cfg.width_mult > 0, "CenterNet: head_channels and width_mult must be positive");
  check(cfg.heatmap_prior > 0 && cfg.heatmap_prior < 1, "CenterNet: heatmap_prior must be in (0,1), got ",
        cfg.heatmap_prior);
  for (int64_t u : cfg.up_channels) check(u >= 1, "CenterNet: up_channels must be positive");
  backbone = register_module("backbone", nn::make_detector_backbone(cfg.backbone, gen, cfg.width_mult));
  deconv = register_module("deconv", std::make_shared<nn::Sequential>());
  int64_t in = backbone->feature_channels()[3];
  for (int64_t u : cfg.up_channels) {
    deconv->push_back(std::make_shared<UpStage>(in, u, gen));
    in = u;
  }
  hm = register_module("hm", make_head(in, cfg.head_channels, cfg.num_classes, gen));
  wh = register_module("wh", make_head(in, cfg.head_channels, 2, gen));
  reg = register_module("reg", make_head(in, cfg.head_channels, 2, gen));
  // Focal-loss prior: sigmoid(b) = p at the start, so the many background cells do not swamp the
  // first steps. b = -log((1-p)/p); p = 0.1 gives -2.197 (the paper's code writes -2.19).
  auto& last = static_cast<nn::Conv2d&>((*hm)[2]);
  nn::init::constant_(last.bias, -std::log((1.0 - cfg.heatmap_prior) / cfg.heatmap_prior));
}

CenterNetOutput CenterNet::forward_heads(const Tensor& x) {
  check(x.dim() == 4 && x.size(1) == 3 && x.size(2) % 32 == 0 && x.size(3) % 32 == 0,
        "CenterNet: expected input [N, 3, H, W] with H, W multiples of 32, got ", shape_text(x.shape()));
  Tensor f = (*deconv)(backbone->features(x)[3]);
  return {(*hm)(f), (*wh)(f), (*reg)(f)};
}

int64_t centernet_num_parameters(const CenterNetConfig& cfg) {
  check(cfg.backbone == "resnet18", "centernet_num_parameters: the formula counts a resnet18 backbone, got ",
        cfg.backbone);
  const std::vector<int64_t> w = nn::resnet_widths(cfg.width_mult);
  int64_t n = nn::resnet18_backbone_parameters(cfg.width_mult);  // layers/resnet.h
  int64_t in = w[3];
  for (int64_t u : cfg.up_channels) {  // ConvTranspose 4x4 (no bias) + BN
    n += 16 * in * u + 2 * u;
    in = u;
  }
  const int64_t h = cfg.head_channels;
  for (int64_t k : {cfg.num_classes, int64_t{2}, int64_t{2}}) n += 9 * in * h + h + h * k + k;
  return n;
}

}  // namespace dg::centernet
