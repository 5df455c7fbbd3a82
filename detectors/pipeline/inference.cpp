// Detecting on one image (see inference.h).
#include "detectors/pipeline/inference.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "detectors/data/augment.h"
#include "detectors/data/loader.h"
#include "detectors/task/detection_eval.h"

namespace dg::det {

InferenceOptions apply_inference_overrides(const Detector& net, const InferenceOverrides& o) {
  InferenceOptions inf = net.default_inference();
  if (!o.nms.empty()) inf.nms.kind = post_nms_from_name(o.nms);
  check(o.nms_iou == 0 || (o.nms_iou > 0 && o.nms_iou <= 1), "nms_iou must be in (0, 1], got ", o.nms_iou);
  if (o.nms_iou > 0) inf.nms.iou = o.nms_iou;
  if (o.score >= 0) inf.score_threshold = o.score;
  check(o.topk >= 0, "topk must be >= 0, got ", o.topk);
  if (o.topk > 0) inf.topk_candidates = o.topk;
  return inf;
}

ImageDetections detect_image(const LoadedModel& m, const Tensor& image, const InferenceOptions& inf) {
  data::Scene s;
  s.image = image;
  // A one-image loader: the same letterbox and normalisation as in training and evaluation.
  data::Loader loader([&](int64_t) { return s; }, 1, eval_loader_config(m.info, 1, 0));
  data::Batch batch;
  loader.next(batch);
  ImageDetections r;
  r.in_input = detector_of(*m.net, "detect").detect(batch.images, inf)[0];
  r.in_image = boxes_to_image(r.in_input, input_to_image(batch.transforms[0]), image.size(0), image.size(1));
  r.image = image;
  r.to_input = batch.transforms[0];
  r.input_batch = batch.images;
  return r;
}

nlohmann::json detections_json(const std::string& file, const Tensor& image, const Detections& d,
                               const ModelInfo& info) {
  nlohmann::json list = nlohmann::json::array();
  Tensor b = d.boxes.to(DType::f64), sc = d.scores.to(DType::f64);
  for (int64_t k = 0; k < d.scores.numel(); ++k) {
    const int64_t label = d.labels.data<int64_t>()[k];
    const double* bb = b.data<double>() + 4 * k;
    list.push_back({{"box", {bb[0], bb[1], bb[2], bb[3]}},
                    {"score", sc.data<double>()[k]},
                    {"label", label},
                    {"class", info.class_names[(size_t)label]},
                    {"category_id", info.category_ids[(size_t)label]}});
  }
  return {{"file", file}, {"width", image.size(1)}, {"height", image.size(0)}, {"detections", list}};
}

int picture_scale(const Tensor& image) {
  const int64_t side = std::max(image.size(0), image.size(1));
  return (int)std::max<int64_t>(1, std::llround(384.0 / (double)side));
}

Tensor score_map_picture(const LoadedModel& m, const ImageDetections& d, double score) {
  const Tensor maps = m.net->score_maps(d.input_batch);
  if (!maps.defined()) return Tensor();
  Tensor probs = squeeze(maps, 0);
  // Drawn on the letterboxed input, where the maps live (warped only here, when a picture is wanted).
  const Tensor input = data::warp_affine(d.image, d.to_input, m.info.input_height, m.info.input_width);
  PictureOptions ph;
  ph.score_threshold = score;
  ph.heatmap = &probs;
  ph.scale = picture_scale(input);
  return detection_picture(input, d.in_input, m.info.class_names, ph);
}

}  // namespace dg::det
