// RetinaNet behind the shared det::Detector interface (detectors/task/detector.h): the network of model.h,
// anchors cached per input size, the loss of loss.h and the decoding of decode.h.
//
//   loss(batch)    forward -> flatten_head_outputs -> retinanet_targets (per image, on the cached
//                  anchors) -> retinanet_loss: parts {"cls", "box"}, total = cls + box
//   detect(x, o)   forward without gradients -> retinanet_decode (score > 0.05, top 1000 per level,
//                  class-wise hard NMS 0.5, 100 kept by default_inference())
//   config_json()  RetinaNetConfig::to_json(); make_retinanet_detector / RetinaNetConfig::from_json rebuild it
// Input H and W must be multiples of 32 (size_divisor()).
// state_dict names: backbone.*, fpn.*, head.* (model.h).
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "detectors/retinanet/loss.h"
#include "detectors/retinanet/model.h"
#include "detectors/task/detector.h"
#include "layers/fpn.h"
#include "layers/resnet.h"

namespace dg::retinanet {

struct RetinaNetOutput {
  std::vector<Tensor> cls;  // per level [N, A*K, H_l, W_l] logits
  std::vector<Tensor> box;  // per level [N, A*4, H_l, W_l] deltas
};

// The anchors of one input size: [sum_l H_l W_l A, 4] f32 (anchors.h), and each level's count.
struct AnchorSet {
  Tensor anchors;
  std::vector<int64_t> level_sizes;
};

class RetinaNetDetector : public det::Detector {
 public:
  RetinaNetDetector(const RetinaNetConfig& cfg, Generator& gen);

  std::string kind() const override { return "retinanet"; }
  int64_t num_classes() const override { return cfg.num_classes; }
  nlohmann::json config_json() const override { return cfg.saved_json(); }
  // "RetinaNet, ResNet-18 x0.25 + FPN P3-P5 x64, head 4 x 64, 9 anchors, 1,234,567 parameters"
  std::string describe() const override;
  std::vector<std::string> loss_names() const override { return {"cls", "box"}; }
  det::LossReport loss(const data::Batch& batch) override;
  // The head outputs, named.
  std::vector<std::pair<std::string, Tensor>> forward_outputs(const Tensor& images) override;
  det::InferenceOptions default_inference() const override;
  std::vector<det::Detections> detect(const Tensor& images, const det::InferenceOptions& opt) override;
  int64_t size_divisor() const override { return 32; }
  // 1e-3: at 2e-3 (CenterNet's and FCOS's) the classification loss spikes during the warm-up and
  // torchvision's RetinaNet collapses to background on the same data (docs/detection/compare.md).
  double default_lr() const override { return 1e-3; }
  // One panel per level with the anchors matched to each box (explain.cpp).
  det::TargetExplanation explain_targets(const data::Augmented& scene, const std::vector<std::string>& names) override;

  // x [N,3,H,W] (H, W multiples of 32) -> the per-level head outputs.
  RetinaNetOutput forward_heads(const Tensor& x);
  // The anchors for an input size (computed once per size, then cached; thread-safe).
  AnchorSet anchors(int64_t image_h, int64_t image_w);
  // For `detgrad detect --explain`: the positive anchors of boxes [G,4] (input pixels) at this input
  // size, with their level, matched box and IoU.
  std::vector<AnchorMatch> matched_anchors(const Tensor& boxes, int64_t image_h, int64_t image_w);

  RetinaNetConfig cfg;
  nn::Trunk trunk;  // backbone + FPN, registered as "backbone" and "fpn"
  std::shared_ptr<RetinaNetHead> head;

 private:
  std::mutex anchors_mutex_;
  std::map<std::pair<int64_t, int64_t>, AnchorSet> anchor_cache_;
};

// config = RetinaNetConfig::cpu(num_classes).to_json(), det::apply_overrides(config, overrides,
// "retinanet") (an unknown key or a wrongly typed value => dg::Error), then the network.
std::shared_ptr<det::Detector> make_retinanet_detector(int64_t num_classes, const nlohmann::json& overrides,
                                                       Generator& gen);

}  // namespace dg::retinanet
