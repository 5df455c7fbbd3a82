// Running a trained detector on one image file's pixels (`detgrad detect`): the image letterboxed and
// normalised exactly as in evaluation, detect(), the boxes mapped back to the image, and what the CLI
// writes of them (the pictures and the detections.json entry).
//
// detections JSON of one image:
//   {"file": ..., "width": W, "height": H, "detections": [{"box": [x1,y1,x2,y2], "score": s,
//    "label": k, "class": "name", "category_id": id}, ...]}      (image pixels, x2/y2 exclusive)
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "detectors/data/augment.h"
#include "detectors/detections.h"
#include "detectors/pipeline/model_file.h"
#include "detectors/task/detector.h"
#include "detectors/visualize.h"

namespace dg::det {

// Changes to a detector's default_inference(); each field's "unset" value keeps the default.
struct InferenceOverrides {
  std::string nms;     // "": the detector's default kind; else post_nms_from_name
  double nms_iou = 0;  // 0: the default IoU threshold (must be in (0, 1] when set)
  double score = -1;   // < 0: the default score threshold
  int64_t topk = 0;    // 0: the default candidates per level / peaks (must be >= 0)
};
// dg::Error naming the option ("nms_iou must be in (0, 1]") for a bad value.
InferenceOptions apply_inference_overrides(const Detector& net, const InferenceOverrides& o);

struct ImageDetections {
  Detections in_image;    // boxes in the image's own pixels
  Detections in_input;    // the same in network-input pixels
  Tensor image;           // u8 [H, W, 3]: the image itself
  data::Affine to_input;  // image pixels -> network-input pixels (the letterbox)
  Tensor input_batch;     // [1, 3, h, w]: the normalised network input
};

// image u8 [H, W, 3]. dg::Error when the model is not a Detector.
ImageDetections detect_image(const LoadedModel& m, const Tensor& image, const InferenceOptions& inf);

// The detections JSON entry above.
nlohmann::json detections_json(const std::string& file, const Tensor& image, const Detections& d,
                               const ModelInfo& info);

// Enlargement that makes the longer side about 384 picture pixels (at least 1).
int picture_scale(const Tensor& image);

// The network input with the model's score maps (Detector::score_maps, e.g. CenterNet's heatmap)
// blended over it and the detections above `score` in input pixels; undefined when the model has none.
Tensor score_map_picture(const LoadedModel& m, const ImageDetections& d, double score);

}  // namespace dg::det
