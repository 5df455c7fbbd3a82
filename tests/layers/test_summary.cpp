// Model summary (layers/summary.h): the counting rules by hand on a small net, and the totals of
// torchvision's classifiers against the numbers the PyTorch models give (tests/golden/summary_counts.json,
// written by tests/golden/gen_summary_counts.py): ResNet-18 11,689,512 parameters and 1.81 G multiply-adds,
// ShuffleNetV2 x1.0 2,278,604 and 0.145 G.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/model_zoo.h"
#include "layers/norm.h"
#include "layers/sequential.h"
#include "layers/summary.h"

using namespace dg;
using namespace dg::nn;

namespace {
nlohmann::json reference_counts() {
  std::ifstream f(std::string(DETGRAD_SOURCE_DIR) + "/tests/golden/summary_counts.json");
  REQUIRE(f.good());
  return nlohmann::json::parse(f);
}

const SummaryRow& row(const ModelSummary& s, const std::string& path) {
  for (const SummaryRow& r : s.rows)
    if (r.path == path) return r;
  FAIL("no row " << path);
  return s.rows.front();
}
}  // namespace

TEST_CASE("summary: the counting rules by hand") {
  // conv 3->8 k3 s2 p1 on 1x3x16x16 -> [1,8,8,8]: 512 outputs x 3*9 = 13,824 MACs; 8*27 + 8 = 224 params.
  // BN(8): 16 params, 0 MACs. ReLU: 0. Depthwise 8 k3 p1 (groups 8): 512 x 1*9 = 4,608 MACs, 80 params.
  // ConvTranspose 8->4 k4 s2 p1 on [1,8,8,8] -> [1,4,16,16]: 512 inputs x 4*16 = 32,768 MACs, 8*4*16 + 4.
  Generator gen(0);
  auto net = std::make_shared<Sequential>();
  Conv2dOptions s2;
  s2.stride = 2, s2.padding = 1;
  net->push_back(std::make_shared<Conv2d>(3, 8, 3, gen, s2));
  net->push_back(std::make_shared<BatchNorm2d>(8));
  net->push_back(std::make_shared<ReLU>());
  Conv2dOptions dw;
  dw.padding = 1, dw.groups = 8;
  net->push_back(std::make_shared<Conv2d>(8, 8, 3, gen, dw));
  ConvTranspose2dOptions up;
  up.stride = 2, up.padding = 1;
  net->push_back(std::make_shared<ConvTranspose2d>(8, 4, 4, gen, up));
  net->eval();
  const Tensor x = randn({1, 3, 16, 16}, gen);
  ModelSummary s = summarize(*net, x.shape(), [&] { (*net)(x); });
  CHECK(row(s, "0").macs == 13824);
  CHECK(row(s, "0").params == 224);
  CHECK(row(s, "0").output == Shape{1, 8, 8, 8});
  CHECK(row(s, "1").macs == 0);
  CHECK(row(s, "1").params == 16);
  CHECK(row(s, "3").macs == 4608);
  CHECK(row(s, "3").params == 80);
  CHECK(row(s, "4").macs == 32768);
  CHECK(row(s, "4").params == 8 * 4 * 16 + 4);
  CHECK(row(s, "4").output == Shape{1, 4, 16, 16});
  CHECK(s.macs == 13824 + 4608 + 32768);
  CHECK(s.params == net->num_parameters());
  CHECK(s.trainable == s.params);
  // Activation bytes: the five leaf outputs in f32: 3 x 512 + 512 + 1024 elements x 4 bytes.
  CHECK(s.activation_bytes == (3 * 512 + 512 + 1024) * 4);
  // Freezing moves parameters from trainable to frozen.
  net->children()[0].second->set_requires_grad(false);
  ModelSummary f = summarize(*net, x.shape(), [&] { (*net)(x); });
  CHECK(f.frozen == 224);
  CHECK(f.trainable == s.params - 224);
  // The hook is removed afterwards: a later forward records nothing.
  CHECK_NOTHROW((*net)(x));
}

TEST_CASE("summary: a module called twice counts both calls; a linear layer") {
  Generator gen(0);
  auto lin = std::make_shared<Linear>(6, 5, gen);
  auto root = std::make_shared<Sequential>();
  root->push_back(lin);
  const Tensor x = randn({4, 6}, gen);
  ModelSummary s = summarize(*root, x.shape(), [&] {
    (*lin)(x);
    (*lin)(x);
  });
  CHECK(row(s, "0").calls == 2);
  CHECK(row(s, "0").macs == 2 * 4 * 5 * 6);
  CHECK(row(s, "0").output == Shape{4, 5});
  CHECK(s.table().find("0 (Linear) x2") != std::string::npos);
}

TEST_CASE("summary: torchvision's classifiers have PyTorch's parameter and multiply-add totals") {
  const nlohmann::json ref = reference_counts();
  for (const char* name : {"resnet18", "resnet34", "shufflenet_v2_x1_0"}) {
    CAPTURE(name);
    Generator gen(0);
    ModulePtr m = make_model(name, gen);
    m->eval();
    NoGradGuard ng;
    const Tensor x = zeros({1, 3, 224, 224});
    ModelSummary s = summarize(*m, x.shape(), [&] { (*m)(x); });
    CHECK(s.params == ref[name]["params"].get<int64_t>());
    CHECK(s.macs == ref[name]["macs"].get<int64_t>());
    for (const SummaryRow& r : s.rows)
      if (r.own_params > 0 && r.calls == 0) FAIL_CHECK(r.path << " has parameters but never ran through its hook");
  }
  CHECK(ref["resnet18"]["params"] == 11689512);
  CHECK(si_count(ref["resnet18"]["macs"].get<int64_t>()) == "1.81 G");
  CHECK(ref["shufflenet_v2_x1_0"]["params"] == 2278604);
}

TEST_CASE("summary: table and JSON collapse to a depth; totals stay") {
  Generator gen(0);
  ModulePtr m = make_model("resnet18", gen);
  m->eval();
  NoGradGuard ng;
  const Tensor x = zeros({1, 3, 64, 64});
  ModelSummary s = summarize(*m, x.shape(), [&] { (*m)(x); });
  const nlohmann::json j1 = s.json(1), all = s.json();
  CHECK(j1["macs"] == all["macs"]);
  CHECK(j1["params"] == 11689512);
  // Depth 1: the root and conv1, bn1, relu, maxpool, layer1..4, avgpool, fc.
  CHECK(j1["modules"].size() == 11);
  CHECK(all["modules"].size() > 60);
  int64_t layers_macs = 0;
  for (const auto& r : j1["modules"])
    if (r["depth"] == 1) layers_macs += r["macs"].get<int64_t>();
  CHECK(layers_macs == s.macs);  // the collapsed rows account for everything below them
  const std::string t = s.table(1);
  CHECK(t.find("layer4 (Sequential)") != std::string::npos);
  CHECK(t.find("11,689,512") != std::string::npos);
  CHECK(t.find("layer4.0") == std::string::npos);
  CHECK(si_count(999) == "999");
  CHECK(si_count(2278604) == "2.28 M");
}
