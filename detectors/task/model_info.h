// ModelInfo: what a trained model is beyond its weights: the task kind and config that rebuild the
// network (detectors/task/zoo.h), its classes, the input size it was trained at and the input
// normalisation. Model files and checkpoints store it as JSON (detectors/pipeline/model_file.h);
// evaluation letterboxes and normalises images with it.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dg::det {

struct ModelInfo {
  std::string kind;                                                       // the detector (detectors/task/zoo.h)
  nlohmann::json config;                                                  // its config_json()
  std::vector<std::string> class_names;                                   // by label; size == number of classes
  std::vector<int64_t> category_ids;                                      // COCO id of each label (default label + 1)
  int64_t input_height = 0, input_width = 0;                              // the network input size it was trained at
  std::array<float, 3> mean{0.5f, 0.5f, 0.5f}, std{0.25f, 0.25f, 0.25f};  // x = (u8/255 - mean) / std

  int64_t num_classes() const { return (int64_t)class_names.size(); }
  std::string to_json() const;
  // Parses and checks the fields; `context` (the file) starts error messages.
  static ModelInfo from_json(const std::string& text, const std::string& context);
};

}  // namespace dg::det
