// The trainable models (tasks, task.h) by name: the detectors "centernet", "fcos", "retinanet". Each starts from its CPU-sized default
// (CenterNetConfig::cpu, FcosConfig::cpu, RetinaNetConfig::cpu) for K classes; `overrides` changes
// single fields of its config_json() (e.g. {"fpn_channels": 32}); a saved model is rebuilt from its
// full config_json() (which includes "num_classes") the same way.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "detectors/task/task.h"

namespace dg::det {

std::vector<std::string> model_kinds();  // {"centernet", "fcos", "retinanet"}, then registered kinds

// A model's factory: its CPU default for K classes with `overrides` applied (apply_overrides in task.h).
using ModelFactory =
    std::function<std::shared_ptr<Task>(int64_t num_classes, const nlohmann::json& overrides, Generator& gen)>;
// Adds a kind the whole pipeline (train, eval, model files, pictures, explain) then takes by name, as
// it takes the built-ins: how a new task joins without a branch anywhere else (the tests register a
// toy task this way). A kind that exists already => dg::Error.
void register_model(const std::string& kind, ModelFactory factory);

// Unknown kind => dg::Error listing the known ones.
std::shared_ptr<Task> make_model(const std::string& kind, int64_t num_classes, const nlohmann::json& overrides,
                                 Generator& gen);

// From a full config (config_json() of a model of that kind).
std::shared_ptr<Task> model_from_config(const std::string& kind, const nlohmann::json& config, Generator& gen);

}  // namespace dg::det
