// `detgrad summary` end to end: every backbone and detector kind gives a summary whose parameter total
// is the network's; the JSON form; a trained model's file; errors name what is wrong.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "tests/support.h"

namespace {
nlohmann::json summary_json(const std::string& args) {
  std::string out;
  REQUIRE(run_detgrad("summary " + args + " --json", out) == 0);
  return nlohmann::json::parse(out);
}
}  // namespace

TEST_CASE("summary cli: classifiers, every backbone, every detector kind") {
  nlohmann::json r = summary_json("resnet18 --depth 1");
  CHECK(r["params"] == 11689512);
  CHECK(r["macs"] == 1814073344);
  CHECK(r["input"] == nlohmann::json::array({1, 3, 224, 224}));
  CHECK(r["modules"].size() == 11);
  // A classifier's name means the classifier; backbone:NAME (or a name only backbones have) the features.
  CHECK(summary_json("resnet34 --depth 0")["model"].get<std::string>().find("classifier") != std::string::npos);
  for (const std::string b : {"backbone:resnet34", "backbone:shufflenet_v2_x0_5", "backbone:shufflenet_v2_x1_0",
                              "snet49", "snet146", "snet535", "backbone:resnet18"}) {
    CAPTURE(b);
    nlohmann::json s = summary_json(b + " --input-size 64 --depth 0");
    CHECK(s["params"].get<int64_t>() > 0);
    CHECK(s["macs"].get<int64_t>() > 0);
    CHECK(s["model"].get<std::string>().find("backbone") != std::string::npos);
  }
  for (const std::string k : {"centernet", "fcos", "retinanet"}) {
    CAPTURE(k);
    nlohmann::json s = summary_json(k + " --preset standard --depth 1");
    CHECK(s["input"] == nlohmann::json::array({1, 3, 128, 128}));
    CHECK(s["trainable"] == s["params"]);
  }
  // A config override reaches the model.
  nlohmann::json sn = summary_json("fcos --model-opt backbone=snet49 --depth 0");
  nlohmann::json rn = summary_json("fcos --depth 0");
  CHECK(sn["params"] != rn["params"]);
  std::string table;
  REQUIRE(run_detgrad("summary resnet18 --depth 1", table) == 0);
  CHECK(table.find("layer4 (Sequential)") != std::string::npos);
  CHECK(table.find("multiply-adds 1,814,073,344 (1.81 G)") != std::string::npos);
}

TEST_CASE("summary cli: errors") {
  std::string out;
  CHECK(run_detgrad("summary yolo", out) != 0);
  CHECK(out.find("unknown model 'yolo'") != std::string::npos);
  CHECK(run_detgrad("summary fcos --input-size 100", out) != 0);
  CHECK(out.find("multiples of 32") != std::string::npos);
  CHECK(run_detgrad("summary resnet18 --input-size 3x", out) != 0);
  CHECK(out.find("--input-size wants H, or HxW") != std::string::npos);
  CHECK(run_detgrad("summary fcos --model-opt depth=3", out) != 0);
  CHECK(out.find("unknown model option 'depth'") != std::string::npos);
}
