// Explaining a trained detector on one scene with ground truth (`detgrad detect MODEL --explain`): a
// validation scene letterboxed to the model's input exactly as in evaluation, then
//   OUT/explain_<kind>.png   for every detector kind of the zoo that has an explain picture
//                            (Detector::explain_targets): FCOS positives per level, RetinaNet matched
//                            anchors per level, CenterNet's target heatmap; the model's own kind uses
//                            its configuration, the other kinds their CPU defaults (the assignments
//                            depend only on the boxes and the configuration, not on the weights)
//   OUT/explain_nms.txt      the model's candidates before NMS and every suppression / decay the NMS
//                            makes, class by class (detectors/nms.h explain events)
#pragma once
#include <string>
#include <vector>

#include "detectors/pipeline/inference.h"
#include "detectors/pipeline/model_file.h"

namespace dg::det {

struct ExplainOptions {
  std::string data;  // "" or "fashion-scenes": the default val scenes; else a COCO folder
  std::string preset = "small";
  int64_t scene = 0;  // which validation image (>= 0)
  uint64_t data_seed = 0;
  std::string out;               // output directory (created)
  InferenceOverrides inference;  // the NMS kind / IoU of the log (score and topk are not used)
};

struct ExplainResult {
  std::string scene_description;  // "scene 3 of fashion-scenes small val: 2 boxes"
  struct Picture {
    std::string kind, path, summary;
    bool own_config = false;  // the model's configuration (else the kind's CPU default)
  };
  std::vector<Picture> pictures;
  std::string nms_log_path;  // "" when the model is not a Detector
};

// dg::Error for a scene outside the data, or data whose classes differ from the model's.
ExplainResult explain_scene(const LoadedModel& m, const ExplainOptions& o);

// The NMS log of image x [1,3,H,W] (network input): candidates before NMS, then every event, class by class.
std::string nms_log(Detector& net, const Tensor& x, const InferenceOptions& inf, const std::vector<std::string>& names);

}  // namespace dg::det
