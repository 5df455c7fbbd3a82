#include "layers/backbone.h"

#include "layers/resnet.h"
#include "layers/shufflenet.h"

namespace dg::nn {

std::vector<std::string> backbone_names() {
  return {"resnet18", "resnet34", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "snet49", "snet146", "snet535"};
}

std::shared_ptr<Backbone> make_backbone(const std::string& name, Generator& gen, double width_mult) {
  if (name == "resnet18" || name == "resnet34")
    return std::make_shared<ResNet>(
        ResNetOptions{.depth = name == "resnet18" ? 18 : 34, .width_mult = width_mult, .include_top = false}, gen);
  check(width_mult == 1.0, "make_backbone: width_mult is for resnet18/resnet34 only, got ", width_mult, " for ", name);
  ShuffleNetV2Options o{.repeats = {4, 8, 4}, .include_top = false};
  if (name == "shufflenet_v2_x0_5") o.widths = {24, 48, 96, 192};
  else if (name == "shufflenet_v2_x1_0") o.widths = {24, 116, 232, 464};
  else if (name == "snet49") o.widths = {24, 60, 120, 240}, o.dw_kernel = 5;
  else if (name == "snet146") o.widths = {24, 132, 264, 528}, o.dw_kernel = 5;
  else if (name == "snet535") o.widths = {48, 248, 496, 992}, o.dw_kernel = 5;
  else {
    std::string known;
    for (const std::string& n : backbone_names()) known += (known.empty() ? "" : ", ") + n;
    fail("make_backbone: unknown backbone '", name, "' (known: ", known, ")");
  }
  return std::make_shared<ShuffleNetV2>(o, gen);
}

}  // namespace dg::nn
