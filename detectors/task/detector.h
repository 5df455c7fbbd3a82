// Detector: the Task (task.h) whose predictions are boxes, so CenterNet, FCOS and RetinaNet (and
// later two-stage detectors) share one pipeline. On top of Task it has
//   inference  detect(x)     forward without gradients + decoding + NMS: per image, boxes in
//                            network-input pixels, scores descending, at most max_detections
//              default_inference()  its score threshold, candidates, NMS and detection count
// and it implements Task's evaluation once for every detector: detect() over the data, then COCO box
// AP (detection_eval.h), drawn as boxes.
//
// Each detector keeps its own convention choices (docs/conventions.md) inside its config.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "detectors/detections.h"
#include "detectors/task/task.h"

namespace dg::det {

struct InferenceOptions {
  double score_threshold = 0.05;   // candidates need a score above this (CenterNet default: none, -1)
  int64_t topk_candidates = 1000;  // per pyramid level before NMS (FCOS, RetinaNet); CenterNet: peaks
  int64_t max_detections = 100;    // per image after NMS
  NmsOptions nms;                  // FCOS hard 0.6, RetinaNet hard 0.5, CenterNet none by default
};

class Detector : public Task {
 public:
  using Task::Task;
  virtual InferenceOptions default_inference() const = 0;
  // No gradient is recorded; the module's mode (train/eval) is the caller's business.
  virtual std::vector<Detections> detect(const Tensor& images, const InferenceOptions& opt) = 0;

  // COCO box AP of detect() with default_inference() (detection_eval.h: evaluate_detector).
  std::shared_ptr<Evaluation> evaluate(const ModelInfo& info, const data::Dataset& ds, const EvalOptions& opt = {},
                                       const std::function<void(int64_t, int64_t)>& progress = {}) override;
  // mAP@0.5, mAP@[.5:.95] and the class-agnostic AP@0.5.
  std::vector<MetricCurve> metric_curves() const override;
};

// The Detector behind a task, for what only detectors do (`detgrad detect`, `detgrad eval` of a model,
// the NMS log): dg::Error "<command>: a <kind> model predicts no boxes" when it is not one.
Detector& detector_of(Task& task, const std::string& command);
// The same, or nullptr.
Detector* as_detector(Task& task);

}  // namespace dg::det
