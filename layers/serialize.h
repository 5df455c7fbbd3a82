// Module weights <-> safetensors files (autograd/io/safetensors.h), keyed by state_dict names, so a
// file written from PyTorch's `model.state_dict()` loads into the equivalent detgrad model and back.
#pragma once
#include <string>

#include "autograd/io/safetensors.h"
#include "layers/module.h"

namespace dg::nn {

// Strict by default: missing, unexpected and mis-shaped keys are all listed in one dg::Error
// (Module::load_state_dict), prefixed with the file name.
void load_weights(Module& m, const std::string& path, bool strict = true);
void save_weights(const Module& m, const std::string& path);  // atomic
// The state_dict as a name -> tensor map (the live tensors), e.g. for io::save_checkpoint.
io::TensorMap state_map(const Module& m);

}  // namespace dg::nn
