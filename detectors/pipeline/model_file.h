// Trained detector models on disk. A model file is a safetensors file holding the state_dict and, in its
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
#include "detectors/task/detector.h"

namespace dg::det {

struct ModelInfo {
  std::string kind;                       // the detector (detectors/task/zoo.h)
  nlohmann::json config;                  // its config_json()
  std::vector<std::string> class_names;   // by label; size == number of classes
  std::vector<int64_t> category_ids;      // COCO id of each label (default label + 1)
  int64_t input_height = 0, input_width = 0;  // the network input size it was trained at
  std::array<float, 3> mean{0.5f, 0.5f, 0.5f}, std{0.25f, 0.25f, 0.25f};  // x = (u8/255 - mean) / std

  int64_t num_classes() const { return (int64_t)class_names.size(); }
  std::string to_json() const;
  // Parses and checks the fields; `context` (the file) starts error messages.
  static ModelInfo from_json(const std::string& text, const std::string& context);
};

inline constexpr const char* kModelInfoKey = "detgrad.model";

// The model's state_dict as a name -> tensor map (for safetensors and checkpoints).
io::TensorMap state_map(const nn::Module& net);

// Atomic write of a model file.
void save_model(const std::string& path, const Detector& net, const ModelInfo& info);

struct LoadedModel {
  std::shared_ptr<Detector> net;  // in eval mode
  ModelInfo info;
  std::string path;               // the file actually read
};

// path: a model file, a checkpoint, or a run directory (model.safetensors, else checkpoint.safetensors).
// dg::Error naming the path when it is none of these or the tensors do not fit the description.
LoadedModel load_model(const std::string& path);

}  // namespace dg::det
