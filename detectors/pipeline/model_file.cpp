#include "detectors/pipeline/model_file.h"

#include <filesystem>

#include "autograd/error.h"
#include "autograd/generator.h"
#include "detectors/task/zoo.h"

namespace dg::det {

io::TensorMap state_map(const nn::Module& net) {
  io::TensorMap m;
  for (const auto& [name, t] : net.state_dict()) m[name] = t;
  return m;
}

void save_model(const std::string& path, const Task& net, const ModelInfo& info) {
  io::save_safetensors(path, state_map(net), {{kModelInfoKey, info.to_json()}, {"format", "detgrad.model.v2"}});
}

LoadedModel load_model(const std::string& path) {
  namespace fs = std::filesystem;
  std::string file = path;
  if (fs::is_directory(path)) {
    if (fs::exists(fs::path(path) / "model.safetensors")) file = (fs::path(path) / "model.safetensors").string();
    else if (fs::exists(fs::path(path) / "checkpoint.safetensors"))
      file = (fs::path(path) / "checkpoint.safetensors").string();
    else fail(path, ": a directory without model.safetensors or checkpoint.safetensors");
  }
  io::SafetensorsFile f = io::load_safetensors(file);
  io::TensorMap tensors;
  std::string desc;
  if (f.metadata.count(kModelInfoKey)) {
    desc = f.metadata.at(kModelInfoKey);
    tensors = f.tensors;
  } else if (f.metadata.count("detgrad.centernet")) {  // first format
    desc = f.metadata.at("detgrad.centernet");
    tensors = f.tensors;
  } else if (f.metadata.count("extra.model_info")) {  // a training checkpoint
    desc = f.metadata.at("extra.model_info");
    for (auto& [name, t] : f.tensors)
      if (name.rfind("model.", 0) == 0) tensors[name.substr(6)] = t;
  } else {
    fail(file, ": not a detgrad model or checkpoint (no \"", kModelInfoKey, "\" metadata)");
  }
  LoadedModel r;
  r.path = file;
  r.info = ModelInfo::from_json(desc, file);
  Generator gen(0);
  r.net = model_from_config(r.info.kind, r.info.config, gen);
  io::assign_tensors(tensors, state_map(*r.net), file);
  r.net->eval();
  return r;
}

}  // namespace dg::det
