// The Task interface (detectors/task/task.h) is wide enough for a model that is not a detector: a toy
// task that counts the objects of a scene (its own output, loss, metric, JSON schema and pictures)
// joins the zoo with register_model and then goes through train, model files, evaluation, run
// pictures and explain with no branch for it anywhere. What only detectors do says so clearly.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "detectors/pipeline/explain.h"
#include "detectors/pipeline/inference.h"
#include "detectors/pipeline/model_file.h"
#include "detectors/pipeline/pictures.h"
#include "detectors/pipeline/train.h"
#include "detectors/task/zoo.h"
#include "layers/conv.h"
#include "layers/linear.h"

using namespace dg;
using namespace dg::det;
namespace fs = std::filesystem;

namespace {

// Predicted and true object counts per image; the metric is their mean absolute difference.
class CountEvaluation : public Evaluation {
 public:
  std::vector<double> predicted, truth;
  double mae() const {
    double s = 0;
    for (size_t i = 0; i < truth.size(); ++i) s += std::abs(predicted[i] - truth[i]);
    return truth.empty() ? 0 : s / (double)truth.size();
  }
  nlohmann::json json(const std::vector<std::string>&) const override {
    return {{"count_MAE", mae()}, {"per_image", predicted}, {"eval_images", images}, {"eval_seconds", seconds}};
  }
  std::string headline() const override { return "count MAE " + std::to_string(mae()); }
  Tensor picture(int64_t i, const data::Scene& scene, const std::vector<std::string>&, const Tensor*) const override {
    Tensor p = scene.image.contiguous_copy_no_grad();
    const int64_t n = std::min<int64_t>(p.size(1), (int64_t)std::lround(predicted[(size_t)i]) * 4);
    for (int64_t x = 0; x < n; ++x) p.data<uint8_t>()[3 * x] = 255;  // a red bar as long as the count
    return p;
  }
  int64_t pictures() const override { return (int64_t)predicted.size(); }
};

// conv 3x3 stride 4 -> ReLU -> global mean -> linear: one number per image.
class CountTask : public Task {
 public:
  CountTask(int64_t k, int64_t channels, Generator& gen) : Task("ToyCount"), k_(k), c_(channels) {
    nn::Conv2dOptions o;
    o.stride = 4;
    conv = register_module("conv", std::make_shared<nn::Conv2d>(3, c_, 3, gen, o));
    fc = register_module("fc", std::make_shared<nn::Linear>(c_, 1, gen));
  }
  std::string kind() const override { return "toy_count"; }
  int64_t num_classes() const override { return k_; }
  nlohmann::json config_json() const override { return {{"num_classes", k_}, {"channels", c_}}; }
  std::string describe() const override { return "toy counter, " + std::to_string(c_) + " channels"; }
  std::vector<std::string> loss_names() const override { return {"mse"}; }
  Tensor count(const Tensor& x) { return reshape((*fc)(mean(relu((*conv)(x)), {2, 3})), {-1}); }
  LossReport loss(const data::Batch& b) override {
    std::vector<double> n;
    for (const auto& boxes : b.boxes) n.push_back((double)boxes.size());
    Tensor l = mse_loss(count(b.images), from_vector(n, {(int64_t)n.size()}, DType::f32));
    return {l, {{"mse", l}}};
  }
  std::shared_ptr<Evaluation> evaluate(const ModelInfo& info, const data::Dataset& ds, const EvalOptions& opt,
                                       const std::function<void(int64_t, int64_t)>& progress) override {
    auto r = std::make_shared<CountEvaluation>();
    NoGradGuard ng;
    data::Loader loader(ds.get, ds.size, eval_loader_config(info, opt.batch, opt.workers));
    data::Batch b;
    while (loader.next(b)) {
      for (double v : count(b.images).to_vector()) r->predicted.push_back(v);
      for (const auto& boxes : b.boxes) r->truth.push_back((double)boxes.size());
      if (progress) progress((int64_t)r->truth.size(), ds.size);
    }
    r->images = (int64_t)r->truth.size();
    return r;
  }
  std::vector<MetricCurve> metric_curves() const override { return {{"count_MAE", "count MAE"}}; }
  std::vector<std::pair<std::string, Tensor>> forward_outputs(const Tensor& x) override {
    return {{"count", count(x)}};
  }

  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::Linear> fc;

 private:
  int64_t k_, c_;
};

void register_toy() {
  static const bool once = [] {
    register_model("toy_count", [](int64_t k, const nlohmann::json& overrides, Generator& gen) {
      nlohmann::json cfg = {{"channels", 8}};
      apply_overrides(cfg, overrides, "toy_count");
      return std::shared_ptr<Task>(std::make_shared<CountTask>(k, cfg["channels"].get<int64_t>(), gen));
    });
    return true;
  }();
  (void)once;
}

TrainOptions toy_options(const std::string& dir) {
  TrainOptions o;
  o.train_data.preset = "small";
  o.train_data.scene = data::SceneConfig::preset("small");
  o.train_data.scene.height = o.train_data.scene.width = 64;
  o.train_data.scene_overridden = true;
  o.train_data.size = 32;
  o.train_data.data_dir = "/nonexistent";  // procedural shapes
  o.val_data = o.train_data;
  o.val_data.size = 8;
  o.model = "toy_count";
  o.model_options = {{"channels", 4}};
  o.batch = 8;
  o.lr = 1e-2;
  o.warmup_steps = 2;
  o.steps = 8;
  o.log_every = 2;
  o.workers = 1;
  o.out_dir = dir;
  return o;
}

std::string fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("detgrad_task_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  return d.string();
}

}  // namespace

TEST_CASE("task interface: the zoo takes a registered kind; kinds stay unique") {
  register_toy();
  const auto kinds = model_kinds();
  CHECK(std::find(kinds.begin(), kinds.end(), "toy_count") != kinds.end());
  CHECK(kinds.front() == "centernet");
  Generator gen(0);
  auto t = make_model("toy_count", 3, {{"channels", 6}}, gen);
  CHECK(t->config_json()["channels"] == 6);
  CHECK_THROWS_WITH_PART(make_model("toy_count", 3, {{"depth", 2}}, gen), "toy_count: unknown model option 'depth'");
  CHECK_THROWS_WITH_PART(register_model("fcos", [](int64_t, const nlohmann::json&, Generator&) { return nullptr; }),
                         "register_model: 'fcos' exists already");
  CHECK(as_detector(*t) == nullptr);
  CHECK_THROWS_WITH_PART(detector_of(*t, "detect"), "detect: a toy_count model predicts no boxes");
}

TEST_CASE("task interface: a non-detector trains, saves, evaluates, draws and explains through the pipeline") {
  register_toy();
  const std::string dir = fresh_dir("count");
  TrainResult r = train(toy_options(dir), false);
  CHECK(r.steps == 8);
  REQUIRE(r.has_eval);
  CHECK(r.eval->images == 8);
  CHECK(r.eval->headline().rfind("count MAE ", 0) == 0);
  CHECK(r.loss_names == std::vector<std::string>{"mse"});
  // The task's own schema in eval.json; its numbers (not the per-image table) in metrics.jsonl.
  std::ifstream ej(fs::path(dir) / "eval.json");
  const nlohmann::json e = nlohmann::json::parse(ej);
  CHECK(e.contains("count_MAE"));
  CHECK(e["per_image"].size() == 8);
  CHECK_FALSE(e.contains("AP"));
  std::ifstream ml(fs::path(dir) / "metrics.jsonl");
  int train_lines = 0, eval_lines = 0;
  for (std::string line; std::getline(ml, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j["kind"] == "train") {
      ++train_lines;
      CHECK(j.contains("mse"));
    } else {
      ++eval_lines;
      CHECK(j.contains("count_MAE"));
      CHECK_FALSE(j.contains("per_image"));
    }
  }
  CHECK(train_lines == 4);
  CHECK(eval_lines >= 1);
  CHECK(fs::exists(fs::path(dir) / "loss.png"));
  CHECK(fs::exists(fs::path(dir) / "map.png"));  // the task's curve

  // The model file rebuilds the task by kind; evaluating it again gives the same numbers.
  LoadedModel m = load_model(dir);
  CHECK(m.info.kind == "toy_count");
  CHECK(m.net->config_json() == nlohmann::json({{"num_classes", 10}, {"channels", 4}}));
  data::Dataset val = data::open_dataset(toy_options(dir).val_data, data::Split::val);
  nlohmann::json again = m.net->evaluate(m.info, val)->json(m.info.class_names);
  CHECK(again["per_image"] == e["per_image"]);

  // Run pictures come from the task; no score maps, no heatmaps.png.
  RunPictures pics = write_run_pictures(dir, toy_options(dir).val_data, *r.eval, 4);
  CHECK(fs::exists(pics.detections));
  CHECK(pics.score_maps.empty());

  // explain (on its default data: fashion-scenes val, so the model takes those classes): the
  // detectors' target pictures of the scene still come; no NMS log for a model without boxes.
  data::DatasetSpec xs;
  xs.source = "fashion-scenes", xs.preset = "small", xs.size = 2;
  LoadedModel xm = m;
  xm.info.class_names = data::open_dataset(xs, data::Split::val).class_names;
  xm.info.category_ids.resize(xm.info.class_names.size());
  Generator xg(0);
  xm.net = make_model("toy_count", (int64_t)xm.info.class_names.size(), {}, xg);
  ExplainOptions xo;
  xo.out = (fs::path(dir) / "explain").string();
  xo.scene = 1;
  ExplainResult x = explain_scene(xm, xo);
  CHECK(x.nms_log_path.empty());
  CHECK(x.pictures.size() == 3);
  for (const auto& p : x.pictures) CHECK_FALSE(p.own_config);

  // What only detectors do says so.
  CHECK_THROWS_WITH_PART(detect_image(m, val.get(0).image, InferenceOptions{}),
                         "detect: a toy_count model predicts no boxes");
  fs::remove_all(dir);
}
