// The helpers every task shares (see task.h).
#include "detectors/task/task.h"

#include "autograd/error.h"
#include "layers/summary.h"

namespace dg::det {

data::LoaderConfig eval_loader_config(const ModelInfo& info, int64_t batch, int workers) {
  data::LoaderConfig lc;
  lc.batch_size = batch;
  lc.shuffle = false;
  lc.workers = workers;
  lc.augment = true;  // used only for the deterministic letterbox to the input size
  lc.augment_config.flip = false;
  lc.augment_config.random_affine = false;
  lc.augment_config.color = false;
  lc.augment_config.out_height = info.input_height;
  lc.augment_config.out_width = info.input_width;
  lc.augment_config.min_box_size = 0;  // keep every box (the targets are not used here anyway)
  lc.mean = info.mean;
  lc.std = info.std;
  return lc;
}

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

std::string with_commas(int64_t v) { return nn::with_commas(v); }

}  // namespace dg::det
