#include "layers/model_zoo.h"

#include <map>

#include "autograd/graph.h"
#include "autograd/io/safetensors.h"
#include "layers/resnet.h"
#include "layers/shufflenet.h"

namespace dg::nn {

std::vector<std::string> model_names() { return {"resnet18", "resnet34", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0"}; }

ModulePtr make_model(const std::string& name, Generator& gen, int64_t num_classes) {
  if (name == "resnet18") return resnet18(gen, num_classes);
  if (name == "resnet34") return resnet34(gen, num_classes);
  if (name == "shufflenet_v2_x0_5") return shufflenet_v2_x0_5(gen, num_classes);
  if (name == "shufflenet_v2_x1_0") return shufflenet_v2_x1_0(gen, num_classes);
  std::string known;
  for (auto& n : model_names()) known += (known.empty() ? "" : ", ") + n;
  fail("model: unknown model '", name, "' (known: ", known, ")");
}

ModelRun run_model(const std::string& name, const std::string& weights_path, const Tensor& input, bool intermediates) {
  check(input.dtype() == DType::f32 || input.dtype() == DType::f64, "model:", name, ": input must be f32 or f64, got ",
        dtype_name(input.dtype()));
  io::SafetensorsFile file = io::load_safetensors(weights_path);
  int64_t num_classes = 1000;
  if (auto it = file.tensors.find("fc.weight"); it != file.tensors.end() && it->second.dim() == 2)
    num_classes = it->second.size(0);
  Generator gen(0);  // the initial values are overwritten by the file
  ModulePtr m = make_model(name, gen, num_classes);
  try {
    m->load_state_dict(StateDict(file.tensors.begin(), file.tensors.end()), /*strict=*/true);
  } catch (const Error& e) {
    throw Error(weights_path + ": " + e.what());
  }
  m->to(input.dtype());
  m->eval();
  ModelRun run;
  std::map<std::string, size_t> index;
  if (intermediates) {
    m->set_forward_hook([&](const std::string& prefix, const Tensor& out) {
      if (prefix.empty()) return;  // the root's output is `output`
      auto it = index.find(prefix);
      if (it == index.end()) {
        index[prefix] = run.intermediates.size();
        run.intermediates.push_back({prefix, out});
      } else {
        run.intermediates[it->second].second = out;
      }
    });
  }
  NoGradGuard ng;
  run.output = (*m)(input);
  m->set_forward_hook({});
  return run;
}

}  // namespace dg::nn
