// Trained CenterNet models on disk. A model file is a safetensors file holding the state_dict (names
// as in model.h) and, in its metadata under "detgrad.centernet", a JSON description with everything
// needed to use it on new images:
//   {"num_classes", "width_mult", "up_channels", "head_channels", "heatmap_prior",   (CenterNetConfig)
//    "class_names": [...], "category_ids": [...], "input_height", "input_width", "mean": [3], "std": [3]}
// A training checkpoint (autograd/io/checkpoint.h) stores the same JSON as "extra.model_info" and the
// state_dict under "model.<name>", so load_model accepts either, or a run directory holding them.
#pragma once
#include <array>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "autograd/io/safetensors.h"
#include "detectors/centernet/model.h"

namespace dg::centernet {

struct ModelInfo {
  CenterNetConfig config;
  std::vector<std::string> class_names;   // by label; size == config.num_classes
  std::vector<int64_t> category_ids;      // COCO id of each label (default label + 1)
  int64_t input_height = 0, input_width = 0;  // the network input size it was trained at
  std::array<float, 3> mean{0.5f, 0.5f, 0.5f}, std{0.25f, 0.25f, 0.25f};  // x = (u8/255 - mean) / std

  std::string to_json() const;
  // Parses and checks the fields; `context` (the file) starts error messages.
  static ModelInfo from_json(const std::string& text, const std::string& context);
};

inline constexpr const char* kModelInfoKey = "detgrad.centernet";

// The model's state_dict as a name -> tensor map (for safetensors and checkpoints).
io::TensorMap state_map(const CenterNet& net);

// Atomic write of a model file.
void save_model(const std::string& path, const CenterNet& net, const ModelInfo& info);

struct LoadedModel {
  std::shared_ptr<CenterNet> net;  // in eval mode
  ModelInfo info;
  std::string path;                // the file actually read
};

// path: a model file, a checkpoint, or a run directory (model.safetensors, else checkpoint.safetensors).
// dg::Error naming the path when it is none of these or the tensors do not fit the description.
LoadedModel load_model(const std::string& path);

}  // namespace dg::centernet
