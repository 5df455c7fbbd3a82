// Module weights <-> safetensors files (autograd/io/safetensors.h), keyed by state_dict names, so a
// file written from PyTorch's `model.state_dict()` loads into the equivalent detgrad model and back.
#pragma once
#include <string>

#include "layers/module.h"

namespace dg::nn {

// Strict by default: missing, unexpected and mis-shaped keys are all listed in one dg::Error
// (Module::load_state_dict), prefixed with the file name.
void load_weights(Module& m, const std::string& path, bool strict = true);
void save_weights(const Module& m, const std::string& path);  // atomic

}  // namespace dg::nn
