// Evaluating a detector on a dataset (Detector::evaluate): every image is letterboxed to the network
// input (eval_loader_config in task.h), run in batches without gradients through Detector::detect,
// mapped back to the image's own pixels, then scored with the COCO evaluator
// (detectors/eval/coco_eval.h, pycocotools-exact).
//
// Besides the 12 COCO numbers it reports the class-agnostic AP@0.5: every ground-truth box and every
// detection relabelled to one category, so it measures how well objects are found whatever their
// label (a detection of the wrong class still counts).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "detectors/data/dataset.h"
#include "detectors/eval/coco_eval.h"
#include "detectors/task/detector.h"

namespace dg::det {

// A detector's evaluation: the COCO result and the detections behind it.
class DetectionEvaluation : public Evaluation {
 public:
  eval::CocoEvalResult coco;                    // class-aware, the 12 standard numbers in coco.stats
  double agnostic_ap50 = -1;                    // class-agnostic AP@0.5 (area all, 100 dets)
  std::vector<eval::CocoDetection> detections;  // all of them, COCO ids and image pixels
  std::vector<Detections> per_image;            // image pixels, labels 0..K-1
  // predict_seconds: Detector::detect alone (network + decoding + NMS)

  nlohmann::json json(const std::vector<std::string>& class_names) const override;  // eval_json below
  // "mAP@0.5 0.512  mAP@[.5:.95] 0.301  class-agnostic AP@0.5 0.702"
  std::string headline() const override;
  // Detections with score >= 0.3 in class colours and the ground truth in thin white boxes; with a
  // map, the map blended over the scene instead.
  Tensor picture(int64_t i, const data::Scene& scene, const std::vector<std::string>& class_names,
                 const Tensor* map = nullptr) const override;
  int64_t pictures() const override { return (int64_t)per_image.size(); }
};

// The module is switched to eval mode (and back to training mode afterwards if it was training).
// progress(done, total) after every batch when given.
std::shared_ptr<DetectionEvaluation> evaluate_detector(Detector& net, const ModelInfo& info, const data::Dataset& ds,
                                                       const EvalOptions& opt, const InferenceOptions& inference,
                                                       const std::function<void(int64_t, int64_t)>& progress = {});

// Detections of one image as COCO records (bbox [x, y, w, h], category_ids[label]).
void append_coco_detections(std::vector<eval::CocoDetection>& out, const Detections& d, int64_t image_id,
                            const std::vector<int64_t>& category_ids);

// Every annotation / detection relabelled to category 1 (one category "object").
eval::CocoDataset class_agnostic(const eval::CocoDataset& gt);
std::vector<eval::CocoDetection> class_agnostic(const std::vector<eval::CocoDetection>& dets);

// The one JSON form of an evaluation: a run's eval.json and the eval lines of its metrics.jsonl
// (without per_class_AP), `detgrad eval --json` (which adds "model", "detect_ms_per_image", "voc"):
//   AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl   the 12 COCO numbers
//   agnostic_AP50        class-agnostic AP@0.5, when computed (agnostic_ap50 >= 0)
//   per_class_AP         {class name: AP@[.5:.95]} in category order, -1 for a class without ground truth
//   eval_images          images evaluated
//   eval_seconds         when measured (seconds >= 0)
// class_names[k] names category k of coco (coco.category_ids order).
nlohmann::json eval_json(const eval::CocoEvalResult& coco, const std::vector<std::string>& class_names,
                         double agnostic_ap50, int64_t images, double seconds);

// The map back to image pixels: the inverse of a loader transform (image -> network input).
Affine input_to_image(const data::Affine& image_to_input);

}  // namespace dg::det
