// Detector: what the training loop, evaluation, `detgrad detect` and the demo need from a one-stage
// detector, so the three of them (CenterNet, FCOS, RetinaNet) share one pipeline.
//
//   training   loss(batch)   forward + targets + loss of a loader batch (data/loader.h: images
//                            [N,3,H,W] normalised, boxes in network-input pixels, labels 0..K-1)
//   inference  detect(x)     forward without gradients + decoding + NMS: per image, boxes in
//                            network-input pixels, scores descending, at most max_detections
//   files      config_json() everything make_detector (zoo.h) needs to rebuild the same network
//   pictures   score_maps(x)  per-class maps drawn over the input (CenterNet's heatmap), if any
//   explain    explain_targets(scene)  how the model assigns training targets on one scene, drawn
//
// The pipeline and the CLI use only this interface: no code outside a detector's folder names a
// concrete detector type.
//
// Each detector keeps its own convention choices (detectors/conventions.h) inside its config.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "detectors/data/augment.h"
#include "detectors/data/loader.h"
#include "detectors/detections.h"
#include "layers/module.h"

namespace dg::det {

struct InferenceOptions {
  double score_threshold = 0.05;   // candidates need a score above this (CenterNet default: none, -1)
  int64_t topk_candidates = 1000;  // per pyramid level before NMS (FCOS, RetinaNet); CenterNet: peaks
  int64_t max_detections = 100;    // per image after NMS
  NmsOptions nms;                  // FCOS hard 0.6, RetinaNet hard 0.5, CenterNet none by default
};

// One picture of how a model assigns its training targets on a scene, and a one-line summary
// ("FCOS positives (...): P3 12/144 ..."). An undefined picture: the model has nothing to show.
struct TargetExplanation {
  Tensor picture;       // u8 [H, W, 3]
  std::string summary;
};

struct LossReport {
  Tensor total;                                      // scalar, differentiable
  std::vector<std::pair<std::string, Tensor>> parts; // the weighted terms, names as loss_names()
};

class Detector : public nn::Module {
 public:
  using nn::Module::Module;
  virtual std::string kind() const = 0;                 // "centernet" | "fcos" | "retinanet"
  virtual int64_t num_classes() const = 0;
  virtual nlohmann::json config_json() const = 0;       // includes "num_classes"
  virtual std::string describe() const = 0;             // one line: "FCOS, ResNet-18 x0.25 + FPN P3-P5 x64, ..."
  virtual std::vector<std::string> loss_names() const = 0;
  virtual LossReport loss(const data::Batch& batch) = 0;
  virtual InferenceOptions default_inference() const = 0;
  // No gradient is recorded; the module's mode (train/eval) is the caller's business.
  virtual std::vector<Detections> detect(const Tensor& images, const InferenceOptions& opt) = 0;
  // The peak Adam learning rate `detgrad train` uses unless --lr is given (batch 32, warm-up + cosine).
  virtual double default_lr() const { return 2e-3; }
  // Input height and width must be multiples of this (the coarsest stride the network uses).
  virtual int64_t size_divisor() const { return 32; }
  // Per-class score maps in [0, 1], [N, K, h, w] at the head's resolution, for pictures drawn over the
  // input (CenterNet: sigmoid of its heatmap). Undefined (the default): the model has none. No gradient.
  virtual Tensor score_maps(const Tensor& images) { return Tensor(); }
  // The training targets this model's configuration assigns on one letterboxed scene (boxes in
  // input pixels), drawn over it (visualize.h explain pictures). The default: nothing to show.
  virtual TargetExplanation explain_targets(const data::Augmented& scene, const std::vector<std::string>& class_names) {
    return {};
  }
};

// NOTE [ Default backbone key ]
// Every detector takes any backbone of layers/backbone.h through its config's "backbone" field. The
// saved form of a config (config_json(), in model files and checkpoints) leaves the key out when it
// is the default "resnet18", and reading a config without it means resnet18: model files written
// before the choice existed load unchanged, and a default run writes the same bytes as before.

// Applies `overrides` (an object whose keys must exist in `config`) onto `config`: how `detgrad train`
// changes a detector's CPU default (e.g. {"fpn_channels": 32}). An unknown key => dg::Error naming
// the detector kind and listing the known keys; a value of another JSON type => dg::Error too.
void apply_overrides(nlohmann::json& config, const nlohmann::json& overrides, const std::string& kind);

// 1234567 -> "1,234,567" (parameter counts in describe()).
std::string with_commas(int64_t v);

}  // namespace dg::det
