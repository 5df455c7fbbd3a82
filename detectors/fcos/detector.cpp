// FcosDetector: the det::Detector interface over the FCOS network, loss and decoding (see detector.h).
#include "detectors/fcos/detector.h"

#include <cstdio>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "detectors/fcos/decode.h"
#include "detectors/fcos/loss.h"

namespace dg::fcos {

std::string FcosDetector::describe() const {
  char mult[32];
  std::snprintf(mult, sizeof mult, "%g", cfg.width_mult);
  const std::string bb = cfg.backbone == "resnet18" ? "ResNet-18 x" + std::string(mult)
                                                    : nn::backbone_text(cfg.backbone, cfg.width_mult);
  return "FCOS, " + bb + " + FPN P" + std::to_string(cfg.first_level) + "-P" + std::to_string(cfg.last_level) + " x" +
         std::to_string(cfg.fpn_channels) + ", head " + std::to_string(cfg.head_depth) + " x " +
         std::to_string(cfg.fpn_channels) + " (GN " + std::to_string(cfg.gn_groups) + "), " +
         det::with_commas(num_parameters()) + " parameters";
}

det::LossReport FcosDetector::loss(const data::Batch& batch) {
  const Tensor& x = batch.images;
  check(x.defined() && x.dim() == 4, "fcos loss: batch images must be [N, 3, H, W], got ",
        x.defined() ? shape_str(x.shape()) : std::string("undefined"));
  check((int64_t)batch.boxes.size() == x.size(0) && batch.labels.size() == batch.boxes.size(), "fcos loss: ", x.size(0),
        " images but ", batch.boxes.size(), " box lists and ", batch.labels.size(), " label lists");
  FcosHeadOutput out = forward_heads(x);
  // Low-precision head outputs (autocast) are widened: the loss and its targets work in f32/f64.
  auto wide = [](const Tensor& t) { return t.dtype() == DType::f64 ? t : t.to(DType::f32); };
  out.cls = wide(out.cls), out.box = wide(out.box), out.ctr = wide(out.ctr);
  FcosBatchTargets t = fcos_batch_targets(batch.boxes, batch.labels, cfg.num_classes,
                                          cfg.assign_options(x.size(2), x.size(3)), out.cls.dtype());
  FcosLossOptions lo;
  lo.focal_alpha = cfg.focal_alpha;
  lo.focal_gamma = cfg.focal_gamma;
  lo.box_weighting = cfg.box_loss_weighting;
  FcosLoss l = fcos_loss(out.cls, out.box, out.ctr, t, lo);
  return {l.total, {{"cls", l.cls}, {"box", l.box}, {"ctr", l.ctr}}};
}

std::vector<std::pair<std::string, Tensor>> FcosDetector::forward_outputs(const Tensor& images) {
  FcosHeadOutput o = forward_heads(images);
  return {{"cls", o.cls}, {"box", o.box}, {"ctr", o.ctr}};
}

det::InferenceOptions FcosDetector::default_inference() const {
  det::InferenceOptions o;
  o.score_threshold = 0.05;
  o.topk_candidates = 1000;
  o.max_detections = 100;
  o.nms.kind = det::PostNms::hard;
  o.nms.iou = cfg.nms_threshold;
  return o;
}

std::vector<det::Detections> FcosDetector::detect(const Tensor& images, const det::InferenceOptions& opt) {
  NoGradGuard no_grad;
  FcosHeadOutput out = forward_heads(images);
  const int64_t H = images.size(2), W = images.size(3);
  Tensor points = fcos_points(cfg.assign_options(H, W), DType::f64);
  return fcos_decode(out.cls, out.box, out.ctr, points, out.level_sizes, H, W, opt, cfg.score_sqrt);
}

}  // namespace dg::fcos

namespace dg {

std::shared_ptr<det::Detector> make_fcos_detector(int64_t num_classes, const nlohmann::json& overrides,
                                                  Generator& gen) {
  nlohmann::json config = fcos::FcosConfig::cpu(num_classes).to_json();
  det::apply_overrides(config, overrides, "fcos");
  return make_fcos_detector_from_config(config, gen);
}

std::shared_ptr<det::Detector> make_fcos_detector_from_config(const nlohmann::json& config, Generator& gen) {
  return std::make_shared<fcos::FcosDetector>(fcos::FcosConfig::from_json(config), gen);
}

}  // namespace dg
