// Task: what the pipeline (trainer, evaluation, model files, run pictures, explain) needs from any
// trainable model, whatever it predicts. A Detector (detector.h: boxes, COCO box AP) is one; a keypoint
// model (its own outputs, metric and pictures) or a two-stage detector (several loss parts) is another,
// and the pipeline drives each through this interface alone:
//
//   training   loss(batch)           forward + targets + loss of a loader batch (data/loader.h); the
//                                    named parts are logged (loss_names)
//   evaluation evaluate(info, data)  the task's own predictions and metric on a dataset, as an
//                                    Evaluation: one JSON schema per task (eval.json, metrics.jsonl),
//                                    a headline, and image i's predictions drawn
//   files      config_json()         everything make_model (zoo.h) needs to rebuild the same network
//   pictures   score_maps(x)         per-class maps drawn over the input (CenterNet's heatmap), if any
//   explain    explain_targets(s)    how the model assigns training targets on one scene, drawn
//   inspect    forward_outputs(x)    the raw outputs of one forward (model summary, the tape drawn)
//
// No code outside a model's folder names a concrete model type.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "detectors/data/augment.h"
#include "detectors/data/dataset.h"
#include "detectors/data/loader.h"
#include "detectors/task/model_info.h"
#include "layers/module.h"

namespace dg::det {

struct LossReport {
  Tensor total;                                       // scalar, differentiable
  std::vector<std::pair<std::string, Tensor>> parts;  // the weighted terms, names as loss_names()
};

// One picture of how a model assigns its training targets on a scene, and a one-line summary
// ("FCOS positives (...): P3 12/144 ..."). An undefined picture: the model has nothing to show.
struct TargetExplanation {
  Tensor picture;  // u8 [H, W, 3]
  std::string summary;
};

struct EvalOptions {
  int64_t batch = 32;
  int workers = 1;         // loader threads preparing the images
  int64_t max_images = 0;  // evaluate only the first n scenes (0: all)
};

// A metric drawn against images seen in RUN/map.png: its key in Evaluation::json() and its label.
struct MetricCurve {
  std::string key, label;
};

// What evaluating a task on a dataset produced. Subclasses hold the predictions and the metric.
class Evaluation {
 public:
  virtual ~Evaluation() = default;
  int64_t images = 0;          // images evaluated
  double seconds = 0;          // everything (loading, network, decoding, scoring)
  double predict_seconds = 0;  // the network and decoding alone

  // The task's one JSON form of an evaluation: a run's eval.json; its numbers (not its nested tables)
  // are the eval lines of metrics.jsonl. class_names[k] names label k.
  virtual nlohmann::json json(const std::vector<std::string>& class_names) const = 0;
  // The numbers everyone asks for, one line: "mAP@0.5 0.512  mAP 0.301  class-agnostic AP@0.5 0.702".
  virtual std::string headline() const = 0;
  // Image i's predictions (in its own pixels) drawn over scene i with its ground truth, u8 [H, W, 3].
  // map (optional): a score map [K, h, w] of the scene's network input, blended in instead.
  virtual Tensor picture(int64_t i, const data::Scene& scene, const std::vector<std::string>& class_names,
                         const Tensor* map = nullptr) const = 0;
  // How many images picture() can draw.
  virtual int64_t pictures() const = 0;
};

class Task : public nn::Module {
 public:
  using nn::Module::Module;
  virtual std::string kind() const = 0;  // "centernet" | "fcos" | "retinanet" | ...
  virtual int64_t num_classes() const = 0;
  virtual nlohmann::json config_json() const = 0;  // includes "num_classes"
  virtual std::string describe() const = 0;        // one line: "FCOS, ResNet-18 x0.25 + FPN P3-P5 x64, ..."
  virtual std::vector<std::string> loss_names() const = 0;
  virtual LossReport loss(const data::Batch& batch) = 0;
  // The peak Adam learning rate `detgrad train` uses unless --lr is given (batch 32, warm-up + cosine).
  virtual double default_lr() const { return 2e-3; }
  // Input height and width must be multiples of this (the coarsest stride the network uses).
  virtual int64_t size_divisor() const { return 32; }

  // Predicts every image of ds (letterboxed to info's input as eval_loader_config) and scores the
  // predictions. The module is switched to eval mode and back. progress(done, total) after every batch.
  virtual std::shared_ptr<Evaluation> evaluate(const ModelInfo& info, const data::Dataset& ds,
                                               const EvalOptions& opt = {},
                                               const std::function<void(int64_t, int64_t)>& progress = {}) = 0;
  // The keys of Evaluation::json() drawn in RUN/map.png, in order.
  virtual std::vector<MetricCurve> metric_curves() const = 0;
  // One forward of the network for inspection (the model summary, the tape drawn): its raw outputs by
  // name (CenterNet "heatmap", "wh", "offset"; FCOS "cls", "box", "ctr"; ...), on the tape when grad
  // mode is on. No targets, no decoding.
  virtual std::vector<std::pair<std::string, Tensor>> forward_outputs(const Tensor& images) = 0;

  // Per-class score maps in [0, 1], [N, K, h, w] at the head's resolution, for pictures drawn over the
  // input (CenterNet: sigmoid of its heatmap). Undefined (the default): the model has none. No gradient.
  virtual Tensor score_maps(const Tensor& images) { return Tensor(); }
  // The training targets this model's configuration assigns on one letterboxed scene (boxes in
  // input pixels), drawn over it (visualize.h explain pictures). The default: nothing to show.
  virtual TargetExplanation explain_targets(const data::Augmented& scene, const std::vector<std::string>& class_names) {
    return {};
  }
};

// The loader configuration that letterboxes a dataset to the model input without augmentation (a
// centred scale, no flip, no colour change): what evaluation, pictures and explain all use.
data::LoaderConfig eval_loader_config(const ModelInfo& info, int64_t batch, int workers);

// NOTE [ Default backbone key ]
// Every detector takes any backbone of layers/backbone.h through its config's "backbone" field. The
// saved form of a config (config_json(), in model files and checkpoints) leaves the key out when it
// is the default "resnet18", and reading a config without it means resnet18: model files written
// before the choice existed load unchanged, and a default run writes the same bytes as before.

// Applies `overrides` (an object whose keys must exist in `config`) onto `config`: how `detgrad train`
// changes a model's CPU default (e.g. {"fpn_channels": 32}). An unknown key => dg::Error naming
// the model kind and listing the known keys; a value of another JSON type => dg::Error too.
void apply_overrides(nlohmann::json& config, const nlohmann::json& overrides, const std::string& kind);

// 1234567 -> "1,234,567" (parameter counts in describe()).
std::string with_commas(int64_t v);

}  // namespace dg::det
