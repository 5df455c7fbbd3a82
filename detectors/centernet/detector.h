// CenterNetDetector: the CenterNet network (detectors/centernet/model.h) behind the shared task
// interface (detectors/task/detector.h), so `detgrad train|eval|detect centernet` drive it like the others:
//   loss(batch)   forward_heads -> batch_targets (targets.h) -> centernet_loss (loss.h): parts
//                 "heatmap", "wh", "offset" (unweighted; total = 1 heatmap + 0.1 wh + 1 offset)
//   detect(x)     forward_heads without gradients -> centernet_decode (decode.h): the top
//                 max_detections peaks, no threshold, no NMS by default
//   config_json() CenterNetConfig::to_json(); make_centernet_detector_from_config rebuilds the network
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "detectors/centernet/model.h"
#include "detectors/task/detector.h"

namespace dg::centernet {

class CenterNetDetector final : public CenterNet {
 public:
  CenterNetDetector(const CenterNetConfig& cfg, Generator& gen) : CenterNet(cfg, gen) {}
  std::string kind() const override { return "centernet"; }
  int64_t num_classes() const override { return cfg.num_classes; }
  nlohmann::json config_json() const override { return cfg.saved_json(); }
  // "CenterNet, ResNet-18 x0.25, up 64-32-32, heads 32, 1,234,567 parameters"
  std::string describe() const override;
  std::vector<std::string> loss_names() const override { return {"heatmap", "wh", "offset"}; }
  det::LossReport loss(const data::Batch& batch) override;
  // The top 100 peaks, no score threshold, no NMS (the paper's decoding).
  // The head outputs, named.
  std::vector<std::pair<std::string, Tensor>> forward_outputs(const Tensor& images) override;
  det::InferenceOptions default_inference() const override;
  std::vector<det::Detections> detect(const Tensor& images, const det::InferenceOptions& opt) override;
  // sigmoid of the heatmap logits, [N, K, H/4, W/4].
  Tensor score_maps(const Tensor& images) override;
  // The target heatmap (Gaussian peaks at the box centres) blended over the input (explain.cpp).
  det::TargetExplanation explain_targets(const data::Augmented& scene, const std::vector<std::string>& names) override;
};

// CenterNetConfig::cpu(num_classes) with `overrides` (keys of to_json()) applied (detectors/task/zoo.h).
std::shared_ptr<det::Detector> make_centernet_detector(int64_t num_classes, const nlohmann::json& overrides,
                                                       Generator& gen);

}  // namespace dg::centernet
