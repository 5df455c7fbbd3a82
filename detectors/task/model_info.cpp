// ModelInfo (see model_info.h): its JSON form, read back with every field checked.
#include "detectors/task/model_info.h"

#include "autograd/error.h"

namespace dg::det {

std::string ModelInfo::to_json() const {
  nlohmann::json j;
  j["kind"] = kind;
  j["config"] = config;
  j["class_names"] = class_names;
  j["category_ids"] = category_ids;
  j["input_height"] = input_height;
  j["input_width"] = input_width;
  j["mean"] = mean;
  j["std"] = std;
  return j.dump();
}

ModelInfo ModelInfo::from_json(const std::string& text, const std::string& context) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    fail(context, ": model description is not valid JSON: ", e.what());
  }
  ModelInfo m;
  try {
    if (j.contains("kind")) {
      m.kind = j.at("kind").get<std::string>();
      m.config = j.at("config");
    } else {  // the first CenterNet files: the config fields at the top level
      m.kind = "centernet";
      for (const char* k : {"num_classes", "width_mult", "up_channels", "head_channels", "heatmap_prior"})
        m.config[k] = j.at(k);
    }
    m.class_names = j.at("class_names").get<std::vector<std::string>>();
    m.category_ids = j.at("category_ids").get<std::vector<int64_t>>();
    m.input_height = j.at("input_height").get<int64_t>();
    m.input_width = j.at("input_width").get<int64_t>();
    m.mean = j.at("mean").get<std::array<float, 3>>();
    m.std = j.at("std").get<std::array<float, 3>>();
  } catch (const nlohmann::json::exception& e) {
    fail(context, ": model description: ", e.what());
  }
  const int64_t k = m.config.contains("num_classes") ? m.config["num_classes"].get<int64_t>() : -1;
  check((int64_t)m.class_names.size() == k && (int64_t)m.category_ids.size() == k, context, ": model description has ",
        m.class_names.size(), " class names and ", m.category_ids.size(), " category ids for ", k, " classes");
  check(m.input_height > 0 && m.input_width > 0 && m.input_height % 32 == 0 && m.input_width % 32 == 0, context,
        ": input size ", m.input_height, "x", m.input_width, " must be positive multiples of 32");
  return m;
}

}  // namespace dg::det
