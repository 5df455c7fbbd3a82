// Trunk: backbone + FPN (see trunk.h).
#include "layers/trunk.h"

#include <sstream>

#include "autograd/error.h"

namespace dg::nn {

Trunk build_trunk(Module& owner, const TrunkOptions& o, Generator& gen) {
  check(o.first_level >= 2 && o.first_level <= 5, "trunk: first_level must be in 2..5, got ", o.first_level);
  check(o.last_level == 5 || o.last_level == 7, "trunk: last_level must be 5 or 7, got ", o.last_level);
  check(o.fpn_channels >= 1, "trunk: fpn_channels must be >= 1, got ", o.fpn_channels);
  Trunk t;
  t.first_level = o.first_level;
  t.backbone = owner.register_module("backbone", make_detector_backbone(o.backbone, gen, o.width_mult));
  const std::vector<int64_t> widths = t.backbone->feature_channels();  // C2..C5
  std::vector<int64_t> in(widths.begin() + (o.first_level - 2), widths.end());
  FPNOptions fo;
  fo.p6p7 = o.last_level == 7;
  fo.first_level = o.first_level;
  for (int64_t l = o.first_level; l <= o.last_level; ++l) fo.out_levels.push_back(l);
  t.fpn = owner.register_module("fpn", std::make_shared<FPN>(in, o.fpn_channels, gen, fo));
  return t;
}

std::shared_ptr<Backbone> make_detector_backbone(const std::string& name, Generator& gen, double width_mult) {
  const bool resnet = name == "resnet18" || name == "resnet34";
  return make_backbone(name, gen, resnet ? width_mult : 1.0);
}

std::vector<Tensor> Trunk::forward(const Tensor& x) const {
  const std::vector<Tensor> c = backbone->features(x);  // C2..C5
  return fpn->forward_features(std::vector<Tensor>(c.begin() + (first_level - 2), c.end()));
}

std::string backbone_text(const std::string& backbone, double width_mult) {
  std::ostringstream s;
  if (backbone == "resnet18" || backbone == "resnet34") {
    s << "ResNet-" << backbone.substr(6) << " x" << width_mult;
    return s.str();
  }
  if (backbone.rfind("shufflenet_v2_x", 0) == 0) {  // shufflenet_v2_x0_5 -> ShuffleNetV2 x0.5
    std::string m = backbone.substr(15);
    for (char& ch : m)
      if (ch == '_') ch = '.';
    return "ShuffleNetV2 x" + m;
  }
  if (backbone.rfind("snet", 0) == 0) return "SNet-" + backbone.substr(4);
  return backbone;
}

}  // namespace dg::nn
