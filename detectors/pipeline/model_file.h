// Trained models on disk. A model file is a safetensors file holding the state_dict and, in its
// metadata under "detgrad.model", a JSON description with everything needed to use it on new images:
//   {"kind": "centernet"|"fcos"|"retinanet", "config": {...the detector's config_json()...},
//    "class_names": [...], "category_ids": [...], "input_height", "input_width", "mean": [3], "std": [3]}
// A training checkpoint (autograd/optim/checkpoint.h) stores the same JSON as "extra.model_info" and the
// state_dict under "model.<name>", so load_model accepts either, or a run directory holding them.
// CenterNet files of the first format (metadata "detgrad.centernet", the config fields at the top
// level) still load.
#pragma once
#include <array>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/io/safetensors.h"
#include "detectors/task/model_info.h"
#include "detectors/task/task.h"

namespace dg::det {

inline constexpr const char* kModelInfoKey = "detgrad.model";

// The model's state_dict as a name -> tensor map (for safetensors and checkpoints).
io::TensorMap state_map(const nn::Module& net);

// Atomic write of a model file.
void save_model(const std::string& path, const Task& net, const ModelInfo& info);

struct LoadedModel {
  std::shared_ptr<Task> net;  // in eval mode
  ModelInfo info;
  std::string path;  // the file actually read
};

// path: a model file, a checkpoint, or a run directory (model.safetensors, else checkpoint.safetensors).
// dg::Error naming the path when it is none of these or the tensors do not fit the description.
LoadedModel load_model(const std::string& path);

}  // namespace dg::det
