#include "detectors/task/detector.h"

#include "autograd/error.h"

namespace dg::det {

void apply_overrides(nlohmann::json& config, const nlohmann::json& overrides, const std::string& kind) {
  if (overrides.is_null()) return;
  check(overrides.is_object(), kind, ": model options must be a JSON object, got ", overrides.dump());
  for (auto& [key, value] : overrides.items()) {
    if (!config.contains(key)) {
      std::string known;
      for (auto& [k, v] : config.items()) known += (known.empty() ? "" : ", ") + k;
      fail(kind, ": unknown model option '", key, "' (known: ", known, ")");
    }
    const nlohmann::json& old = config[key];
    const bool same_type = old.type() == value.type() || (old.is_number() && value.is_number());
    check(same_type, kind, ": model option '", key, "' must look like ", old.dump(), ", got ", value.dump());
    config[key] = value;
  }
}

std::string with_commas(int64_t v) {
  const std::string s = std::to_string(v < 0 ? -v : v);
  std::string out = v < 0 ? "-" : "";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

}  // namespace dg::det
