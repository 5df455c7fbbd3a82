// The named whole models behind `detgrad ref model:NAME` (and the benchmarks): torchvision's
// classification networks, built here with torchvision's state_dict keys so its weights load as they are.
#pragma once
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "layers/module.h"

namespace dg::nn {

std::vector<std::string> model_names();  // resnet18, resnet34, shufflenet_v2_x0_5, shufflenet_v2_x1_0
// An unknown name is an error listing the known ones.
ModulePtr make_model(const std::string& name, Generator& gen, int64_t num_classes = 1000);

struct ModelRun {
  Tensor output;               // the logits
  NamedTensors intermediates;  // (state_dict prefix, output) of every submodule, in first-call order
};

// Builds `name` with the number of classes of the file's fc.weight, loads the weights strictly,
// converts the model to the input's dtype (f32 or f64), and runs it in eval mode without a graph.
// With intermediates, every submodule's output is recorded (a module called twice, like a
// BasicBlock's relu, keeps its last output, as a forward hook saving by name would).
ModelRun run_model(const std::string& name, const std::string& weights_path, const Tensor& input, bool intermediates);

}  // namespace dg::nn
