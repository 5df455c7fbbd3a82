#include "detectors/task/zoo.h"

#include "autograd/error.h"
#include "detectors/centernet/detector.h"
#include "detectors/fcos/detector.h"
#include "detectors/retinanet/detector.h"

namespace dg::det {

namespace {
struct Entry {
  std::string kind;
  ModelFactory make;
};

std::vector<Entry>& registry() {
  static std::vector<Entry> r = {
      {"centernet", [](int64_t k, const nlohmann::json& o,
                       Generator& g) { return std::shared_ptr<Task>(centernet::make_centernet_detector(k, o, g)); }},
      {"fcos", [](int64_t k, const nlohmann::json& o,
                  Generator& g) { return std::shared_ptr<Task>(make_fcos_detector(k, o, g)); }},
      {"retinanet", [](int64_t k, const nlohmann::json& o,
                       Generator& g) { return std::shared_ptr<Task>(retinanet::make_retinanet_detector(k, o, g)); }},
  };
  return r;
}
}  // namespace

std::vector<std::string> model_kinds() {
  std::vector<std::string> k;
  for (const Entry& e : registry()) k.push_back(e.kind);
  return k;
}

void register_model(const std::string& kind, ModelFactory factory) {
  check(!kind.empty() && factory, "register_model: need a kind and a factory");
  for (const Entry& e : registry()) check(e.kind != kind, "register_model: '", kind, "' exists already");
  registry().push_back({kind, std::move(factory)});
}

std::shared_ptr<Task> make_model(const std::string& kind, int64_t num_classes, const nlohmann::json& overrides,
                                 Generator& gen) {
  check(num_classes >= 1, kind, ": num_classes must be >= 1, got ", num_classes);
  for (const Entry& e : registry())
    if (e.kind == kind) return e.make(num_classes, overrides, gen);
  std::string known;
  for (const auto& k : model_kinds()) known += (known.empty() ? "" : ", ") + k;
  fail("unknown model '", kind, "' (known: ", known, ")");
}

std::shared_ptr<Task> model_from_config(const std::string& kind, const nlohmann::json& config, Generator& gen) {
  check(config.is_object() && config.contains("num_classes") && config.at("num_classes").is_number_integer(), kind,
        ": model configuration without num_classes: ", config.dump());
  nlohmann::json rest = config;
  const int64_t k = rest.at("num_classes").get<int64_t>();
  rest.erase("num_classes");
  return make_model(kind, k, rest, gen);
}

}  // namespace dg::det
