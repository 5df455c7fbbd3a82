// Backbone: the interface detectors build on. A backbone maps an image batch [N, 3, H, W] to the
// feature maps C2..C5 (strides 4, 8, 16, 32); a detector takes the levels it needs (FCOS and
// RetinaNet: C3..C5 into an FPN; CenterNet: C5 into deconvolutions).
#pragma once
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "layers/module.h"

namespace dg::nn {

class Backbone : public Module {
 public:
  using Module::Module;
  // {C2, C3, C4, C5}: [N, c_i, ~H/s_i, ~W/s_i] with s = 4, 8, 16, 32.
  virtual std::vector<Tensor> features(const Tensor& x) = 0;
  virtual std::vector<int64_t> feature_channels() const = 0;
  std::vector<int64_t> feature_strides() const { return {4, 8, 16, 32}; }
};

// A backbone without its classifier: "resnet18", "resnet34" (width_mult scales the widths),
// "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "snet49", "snet146", "snet535" (width_mult must be 1).
// Unknown names are an error listing the known ones.
std::shared_ptr<Backbone> make_backbone(const std::string& name, Generator& gen, double width_mult = 1.0);
// The names make_backbone knows, in the order above.
std::vector<std::string> backbone_names();

}  // namespace dg::nn
