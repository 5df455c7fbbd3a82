#include "layers/serialize.h"

namespace dg::nn {

void load_weights(Module& m, const std::string& path, bool strict) {
  io::SafetensorsFile f = io::load_safetensors(path);
  StateDict sd(f.tensors.begin(), f.tensors.end());
  try {
    m.load_state_dict(sd, strict);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

io::TensorMap state_map(const Module& m) {
  io::TensorMap map;
  for (auto& [k, t] : m.state_dict()) map[k] = t;
  return map;
}

void save_weights(const Module& m, const std::string& path) { io::save_safetensors(path, state_map(m)); }

}  // namespace dg::nn
