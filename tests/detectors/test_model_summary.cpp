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
