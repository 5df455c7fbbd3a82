#include "detectors/task/zoo.h"

#include "autograd/error.h"
#include "detectors/centernet/detector.h"
#include "detectors/fcos/detector.h"
#include "detectors/retinanet/detector.h"

namespace dg::det {

std::vector<std::string> detector_kinds() { return {"centernet", "fcos", "retinanet"}; }

std::shared_ptr<Detector> make_detector(const std::string& kind, int64_t num_classes, const nlohmann::json& overrides,
                                        Generator& gen) {
  check(num_classes >= 1, kind, ": num_classes must be >= 1, got ", num_classes);
  if (kind == "centernet") return centernet::make_centernet_detector(num_classes, overrides, gen);
  if (kind == "fcos") return make_fcos_detector(num_classes, overrides, gen);
  if (kind == "retinanet") return retinanet::make_retinanet_detector(num_classes, overrides, gen);
  std::string known;
  for (const auto& k : detector_kinds()) known += (known.empty() ? "" : ", ") + k;
  fail("unknown detector '", kind, "' (known: ", known, ")");
}

std::shared_ptr<Detector> detector_from_config(const std::string& kind, const nlohmann::json& config, Generator& gen) {
  check(config.is_object() && config.contains("num_classes") && config.at("num_classes").is_number_integer(), kind,
        ": model configuration without num_classes: ", config.dump());
  nlohmann::json rest = config;
  const int64_t k = rest.at("num_classes").get<int64_t>();
  rest.erase("num_classes");
  return make_detector(kind, k, rest, gen);
}

}  // namespace dg::det
