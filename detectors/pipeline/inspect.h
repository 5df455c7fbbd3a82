// What `detgrad summary` and `detgrad graph` look inside: a network named on the command line, built
// with an input of the right size and one forward that reports every module (layers/summary.h).
//
// NAME is, in this order:
//   a classifier of layers/model_zoo.h   resnet18, resnet34, shufflenet_v2_x0_5, shufflenet_v2_x1_0
//                                         (1000 classes, as torchvision: their published totals hold)
//   backbone:NAME or a backbone name      any of layers/backbone.h without a classifier (snet49 ...):
//                                         the features C2..C5
//   a model kind of detectors/task/zoo.h  centernet, fcos, retinanet, ...: its CPU default for the
//                                         fashion-scenes classes (10), with model_options applied
//   a model file or a run directory      the trained model, at the input size it was trained at
// The input is 1 x 3 x H x W: `input_h` x `input_w` when given, else the model file's size, else the
// fashion-scenes preset's (small 96, standard 128) for a model kind, else 224 for a classifier or
// backbone.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/tensor.h"
#include "layers/module.h"
#include "layers/summary.h"

namespace dg::det {

struct InspectOptions {
  std::string preset = "small";                             // fashion-scenes preset giving a model kind's input size
  int64_t input_h = 0, input_w = 0;                         // 0: the default above
  nlohmann::json model_options = nlohmann::json::object();  // a model kind's config overrides
};

struct Inspected {
  std::shared_ptr<nn::Module> module;  // in eval mode
  std::string description;             // "resnet18 (torchvision classifier, 1000 classes)"
  Shape input;                         // [1, 3, H, W]
  // One forward on `x` through every module's hook; the named outputs (logits, features, head outputs).
  std::function<std::vector<std::pair<std::string, Tensor>>(const Tensor& x)> forward;
};

// dg::Error listing every kind of name for an unknown one.
Inspected inspect(const std::string& name, const InspectOptions& o = {});

// summarize() of an inspected network on a zero input, without gradients.
nn::ModelSummary summary_of(Inspected& m);

// The tape of one forward pass drawn as Graphviz DOT (autograd/graph_dot.h): the input is N(0, 1)
// (seed 0), the network in eval mode; a backward of the sum of the outputs' means fills the
// gradients the tooltips show. Ops are grouped by module; depth d >= 0 draws every module at depth d as
// one box (0: the whole network; 1: its children, e.g. backbone, fpn, head; -1: every op).
std::string tape_dot(Inspected& m, int depth);

}  // namespace dg::det
