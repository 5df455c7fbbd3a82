// The model summary of every detector (layers/summary.h through Task::forward_outputs): parameter
// counts equal sum(p.numel()) of the PyTorch yardstick of the same configuration
// (tests/golden/summary_counts.json, from tests/golden/gen_summary_counts.py), and every module with
// parameters runs through its hook, so no multiply-adds are missed.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "detectors/pipeline/inspect.h"
#include "detectors/pipeline/model_file.h"
#include "detectors/task/zoo.h"
#include "layers/summary.h"

using namespace dg;
using namespace dg::det;

namespace {
nlohmann::json reference_counts() {
  std::ifstream f(std::string(DETGRAD_SOURCE_DIR) + "/tests/golden/summary_counts.json");
  REQUIRE(f.good());
  return nlohmann::json::parse(f);
}

nn::ModelSummary summary_of(Task& t, int64_t side) {
  t.eval();
  NoGradGuard ng;
  const Tensor x = zeros({1, 3, side, side});
  return nn::summarize(t, x.shape(), [&] { t.forward_outputs(x); });
}
}  // namespace

TEST_CASE("model summary: every detector's CPU default against its PyTorch yardstick") {
  const nlohmann::json ref = reference_counts();
  // FCOS has a learnable Scale per pyramid level (3 at P3-P5) that torchvision's FCOS does not.
  const std::map<std::string, int64_t> extra = {{"centernet", 0}, {"fcos", 3}, {"retinanet", 0}};
  for (const std::string kind : {"centernet", "fcos", "retinanet"}) {
    CAPTURE(kind);
    Generator gen(0);
    std::shared_ptr<Task> t = make_model(kind, 10, {}, gen);
    nn::ModelSummary s = summary_of(*t, 96);
    CHECK(s.params == t->num_parameters());
    CHECK(s.params == ref[kind]["params"].get<int64_t>() + extra.at(kind));
    CHECK(s.macs > 0);
    for (const nn::SummaryRow& r : s.rows)
      if (r.own_params > 0 && r.calls == 0) FAIL_CHECK(r.path << " has parameters but never ran through its hook");
  }
  // CenterNet's multiply-adds equal the yardstick's, transposed convolutions included.
  Generator gen(0);
  std::shared_ptr<Task> cn = make_model("centernet", 10, {}, gen);
  CHECK(summary_of(*cn, 96).macs == ref["centernet"]["macs"].get<int64_t>());
}

TEST_CASE("model summary: a shared head counts every level's call") {
  Generator gen(0);
  std::shared_ptr<Task> t = make_model("fcos", 10, {}, gen);
  nn::ModelSummary s = summary_of(*t, 96);
  int64_t head_calls = 0;
  for (const nn::SummaryRow& r : s.rows)
    if (r.path == "head.cls_logits") head_calls = r.calls;
  CHECK(head_calls == 3);  // P3, P4, P5
}

TEST_CASE("model summary: a model file is inspected at its own input size") {
  Generator gen(0);
  std::shared_ptr<Task> t = make_model("centernet", 3, {{"width_mult", 0.125}}, gen);
  ModelInfo info;
  info.kind = t->kind();
  info.config = t->config_json();
  info.class_names = {"a", "b", "c"};
  info.category_ids = {1, 2, 3};
  info.input_height = 64, info.input_width = 128;
  const std::string path = fresh_temp_dir("summary", "model") + "/model.safetensors";
  save_model(path, *t, info);
  Inspected m = inspect(path);
  CHECK(m.input == Shape{1, 3, 64, 128});
  CHECK(m.description.find(path) != std::string::npos);
  nn::ModelSummary s = summary_of(m);
  CHECK(s.params == t->num_parameters());
  InspectOptions o;
  o.input_h = o.input_w = 96;
  CHECK(inspect(path, o).input == Shape{1, 3, 96, 96});
  CHECK_THROWS_WITH_PART(inspect("no_such_model"), "unknown model 'no_such_model'");
}
