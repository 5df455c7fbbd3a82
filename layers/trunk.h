// Trunk: a backbone (layers/backbone.h: ResNet-18/34, ShuffleNetV2, SNet) and an FPN (layers/fpn.h)
// over its C_first..C5: the front half every FPN detector shares (FCOS, RetinaNet; two-stage next).
//
//   x [N,3,H,W] -> backbone C2..C5 (strides 4..32) -> C_first..C5 -> FPN -> P_first..P_last
//   every P_l [N, fpn_channels, ~H/2^l, ~W/2^l]; P6/P7 (last_level 7) are 3x3/2 convs from P5
//
// build_trunk registers the two modules in the owner as "backbone" and "fpn", so the state_dict
// names stay the detector's own (backbone.*, fpn.*) and the random draws are the backbone's, then
// the FPN's, in that order.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "layers/backbone.h"
#include "layers/fpn.h"

namespace dg::nn {

struct TrunkOptions {
  std::string backbone = "resnet18";  // make_backbone's names
  double width_mult = 1.0;            // resnet18 / resnet34 only (make_detector_backbone)
  int64_t first_level = 3;            // FPN inputs C_first..C5, first in 2..5
  int64_t last_level = 7;             // 5, or 7 (P6/P7 from P5)
  int64_t fpn_channels = 256;
};

struct Trunk {
  std::shared_ptr<Backbone> backbone;
  std::shared_ptr<FPN> fpn;
  int64_t first_level = 3;
  // x [N,3,H,W] -> {P_first, ..., P_last}, finest first.
  std::vector<Tensor> forward(const Tensor& x) const;
};

// dg::Error naming the field for an unusable option (unknown backbone, levels out of range).
Trunk build_trunk(Module& owner, const TrunkOptions& o, Generator& gen);

// make_backbone with width_mult for the ResNets; the other backbones have their own fixed widths and
// take none (a detector's config carries one width_mult whatever its backbone).
std::shared_ptr<Backbone> make_detector_backbone(const std::string& name, Generator& gen, double width_mult);

// "ResNet-18 x0.25", "ShuffleNetV2 x1.0", "SNet-49": the backbone as describe() lines print it.
std::string backbone_text(const std::string& backbone, double width_mult);

}  // namespace dg::nn
