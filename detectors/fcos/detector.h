// FcosDetector: the FCOS network (detectors/fcos/model.h) behind the shared det::Detector interface,
// so `detgrad train|eval|detect fcos` drive it like CenterNet:
//   loss(batch)   forward_heads -> fcos_batch_targets (targets.h per image) -> fcos_loss: parts
//                 "cls" (focal), "box" (centerness-weighted GIoU), "ctr" (BCE centerness)
//   detect(x)     forward_heads without gradients -> fcos_decode (decode.h): threshold, top-k per
//                 level, sqrt(cls*ctr), class-wise NMS, max_detections
//   config_json() FcosConfig::to_json(); make_fcos_detector_from_config rebuilds the same network
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "detectors/fcos/model.h"
#include "detectors/task/detector.h"

namespace dg::fcos {

class FcosDetector final : public Fcos {
 public:
  FcosDetector(const FcosConfig& cfg, Generator& gen) : Fcos(cfg, gen) {}
  std::string kind() const override { return "fcos"; }
  int64_t num_classes() const override { return cfg.num_classes; }
  nlohmann::json config_json() const override { return cfg.saved_json(); }
  // "FCOS, ResNet-18 x0.25 + FPN P3-P5 x64, head 4 x 64 (GN 32), 1,234,567 parameters"
  std::string describe() const override;
  std::vector<std::string> loss_names() const override { return {"cls", "box", "ctr"}; }
  det::LossReport loss(const data::Batch& batch) override;
  // score > 0.05, top 1000 per level, class-wise hard NMS at cfg.nms_threshold (0.6), 100 kept.
  // The head outputs, named.
  std::vector<std::pair<std::string, Tensor>> forward_outputs(const Tensor& images) override;
  det::InferenceOptions default_inference() const override;
  std::vector<det::Detections> detect(const Tensor& images, const det::InferenceOptions& opt) override;
  int64_t size_divisor() const override { return 32; }
  // One panel per pyramid level: the points that regress a box filled in its class colour (explain.cpp).
  det::TargetExplanation explain_targets(const data::Augmented& scene, const std::vector<std::string>& names) override;
};

}  // namespace dg::fcos

namespace dg {

// FcosConfig::cpu(num_classes) as JSON, det::apply_overrides(config, overrides, "fcos"), then the
// network. Unknown override keys => dg::Error naming the key and listing the known ones.
std::shared_ptr<det::Detector> make_fcos_detector(int64_t num_classes, const nlohmann::json& overrides, Generator& gen);
// The network of a saved config_json() (every field present).
std::shared_ptr<det::Detector> make_fcos_detector_from_config(const nlohmann::json& config, Generator& gen);

}  // namespace dg
