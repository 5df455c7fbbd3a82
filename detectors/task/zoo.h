// The detectors by name: "centernet", "fcos", "retinanet". Each starts from its CPU-sized default
// (CenterNetConfig::cpu, FcosConfig::cpu, RetinaNetConfig::cpu) for K classes; `overrides` changes
// single fields of its config_json() (e.g. {"fpn_channels": 32}); a saved model is rebuilt from its
// full config_json() (which includes "num_classes") the same way.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "detectors/task/detector.h"

namespace dg::det {

std::vector<std::string> detector_kinds();  // {"centernet", "fcos", "retinanet"}

// Unknown kind => dg::Error listing the known ones.
std::shared_ptr<Detector> make_detector(const std::string& kind, int64_t num_classes, const nlohmann::json& overrides,
                                        Generator& gen);

// From a full config (config_json() of a detector of that kind).
std::shared_ptr<Detector> detector_from_config(const std::string& kind, const nlohmann::json& config, Generator& gen);

}  // namespace dg::det
