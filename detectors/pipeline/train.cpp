#include "detectors/pipeline/train.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "autograd/amp/grad_scaler.h"
#include "autograd/autocast.h"
#include "autograd/error.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/checkpoint.h"
#include "autograd/optim/schedule.h"
#include "detectors/eval/coco_json.h"
#include "detectors/pipeline/trainer.h"
#include "detectors/task/zoo.h"

namespace dg::det {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------- options <-> JSON

namespace {
json spec_to_json(const data::DatasetSpec& s) {
  json j{{"source", s.source}, {"preset", s.preset}, {"size", s.size}, {"seed", s.seed}, {"data_dir", s.data_dir}};
  if (s.scene_overridden) {
    const auto& c = s.scene;
    j["scene"] = {
        {"height", c.height},     {"width", c.width},       {"min_items", c.min_items}, {"max_items", c.max_items},
        {"min_size", c.min_size}, {"max_size", c.max_size}, {"max_iou", c.max_iou},     {"pixel_noise", c.pixel_noise},
        {"tint", c.tint}};
  }
  return j;
}

data::DatasetSpec spec_from_json(const json& j) {
  data::DatasetSpec s;
  s.source = j.at("source").get<std::string>();
  s.preset = j.at("preset").get<std::string>();
  s.size = j.at("size").get<int64_t>();
  s.seed = j.at("seed").get<uint64_t>();
  s.data_dir = j.at("data_dir").get<std::string>();
  if (j.contains("scene")) {
    const json& c = j.at("scene");
    s.scene_overridden = true;
    s.scene = data::SceneConfig::preset(s.preset);
    s.scene.height = c.at("height"), s.scene.width = c.at("width");
    s.scene.min_items = c.at("min_items"), s.scene.max_items = c.at("max_items");
    s.scene.min_size = c.at("min_size"), s.scene.max_size = c.at("max_size");
    s.scene.max_iou = c.at("max_iou"), s.scene.pixel_noise = c.at("pixel_noise"), s.scene.tint = c.at("tint");
  }
  return s;
}
}  // namespace

json TrainOptions::to_json() const {
  const auto& a = augment_config;
  return json{{"train_data", spec_to_json(train_data)},
              {"val_data", spec_to_json(val_data)},
              {"model", model},
              {"model_options", model_options},
              {"input_size", input_size},
              {"batch", batch},
              {"lr", lr},
              {"weight_decay", weight_decay},
              {"warmup_steps", warmup_steps},
              {"final_lr_fraction", final_lr_fraction},
              {"steps", steps},
              {"epochs", epochs},
              {"minutes", minutes},
              {"amp", amp},
              {"augment", augment},
              {"augment_config",
               {{"flip", a.flip},
                {"flip_prob", a.flip_prob},
                {"random_affine", a.random_affine},
                {"scale_lo", a.scale_lo},
                {"scale_hi", a.scale_hi},
                {"shift", a.shift},
                {"color", a.color},
                {"brightness", a.brightness},
                {"contrast", a.contrast},
                {"saturation", a.saturation},
                {"min_box_size", a.min_box_size}}},
              {"seed", seed},
              {"log_every", log_every},
              {"eval_every", eval_every},
              {"plot", plot}};
}

TrainOptions TrainOptions::from_json(const json& j, const std::string& context) {
  TrainOptions o;
  try {
    o.train_data = spec_from_json(j.at("train_data"));
    o.val_data = spec_from_json(j.at("val_data"));
    o.model = j.at("model").get<std::string>();
    o.model_options = j.at("model_options");
    o.input_size = j.at("input_size");
    o.batch = j.at("batch");
    o.lr = j.at("lr");
    o.weight_decay = j.at("weight_decay");
    o.warmup_steps = j.at("warmup_steps");
    o.final_lr_fraction = j.at("final_lr_fraction");
    o.steps = j.at("steps");
    o.epochs = j.at("epochs");
    o.minutes = j.at("minutes");
    o.amp = j.value("amp", std::string("none"));
    o.augment = j.at("augment");
    const json& a = j.at("augment_config");
    auto& c = o.augment_config;
    c.flip = a.at("flip"), c.flip_prob = a.at("flip_prob"), c.random_affine = a.at("random_affine");
    c.scale_lo = a.at("scale_lo"), c.scale_hi = a.at("scale_hi"), c.shift = a.at("shift");
    c.color = a.at("color"), c.brightness = a.at("brightness"), c.contrast = a.at("contrast");
    c.saturation = a.at("saturation"), c.min_box_size = a.at("min_box_size");
    o.seed = j.at("seed");
    o.log_every = j.at("log_every");
    o.eval_every = j.at("eval_every");
    o.plot = j.at("plot");
  } catch (const json::exception& e) {
    fail(context, ": ", e.what());
  }
  return o;
}

void TrainOptions::validate() const {
  check(!out_dir.empty(), "train: an output directory (out_dir) is required");
  check(batch >= 1, "train: batch must be >= 1, got ", batch);
  check(lr >= 0 && std::isfinite(lr), "train: lr must be positive (0: the detector's default), got ", lr);
  check(warmup_steps >= 0 && final_lr_fraction >= 0 && final_lr_fraction <= 1,
        "train: warm-up steps must be >= 0 and the final lr fraction in [0, 1]");
  check(steps >= 0 && epochs >= 0 && minutes >= 0, "train: steps, epochs and minutes must be >= 0");
  check(steps > 0 || epochs > 0 || minutes > 0, "train: give the length of the run: steps, epochs or minutes");
  check(input_size >= 0 && input_size % 32 == 0, "train: input_size must be a multiple of 32, got ", input_size);
  check(log_every >= 1 && eval_every >= 0 && workers >= 0, "train: bad bookkeeping options");
  check(model_options.is_object(), "train: model options must be a JSON object");
  check(amp == "none" || amp == "fp16" || amp == "bf16", "train: amp must be none, fp16 or bf16, got '", amp, "'");
}

double train_lr(const TrainOptions& o, int64_t t, int64_t total_steps) {
  const int64_t w = std::min(o.warmup_steps, total_steps);
  auto cosine = optim::cosine_lr(std::max<int64_t>(1, total_steps - w), o.final_lr_fraction * o.lr);
  return (w > 0 ? optim::warmup(w, 0.1, cosine) : cosine)->lr(o.lr, t);
}

// ---------------------------------------------------------------- the run (trainer.h)

TrainResult train(const TrainOptions& given, bool resume, const TrainCallbacks& cb, const std::atomic<bool>* stop) {
  Trainer t(given, resume, cb, stop);
  return t.run();
}

}  // namespace dg::det
