// Every detector on every kind of backbone (layers/trunk.h, layers/backbone.h): the config's
// "backbone" field, the saved form without it for the default resnet18 (NOTE [ Default backbone key ]),
// a forward and a loss on a tiny batch, and a model-file round trip.
#include <doctest/doctest.h>

#include <unistd.h>
#include <cmath>
#include <filesystem>

#include "autograd/generator.h"
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "detectors/pipeline/model_file.h"
#include "detectors/task/detector.h"
#include "detectors/task/zoo.h"
#include "layers/trunk.h"

using namespace dg;

namespace {
data::Batch tiny_batch() {
  data::Batch b;
  Generator gen(3);
  b.images = randn({2, 3, 64, 64}, gen);
  b.boxes = {{{4, 6, 30, 40}}, {{10, 10, 50, 44}, {0, 0, 20, 20}}};
  b.labels = {{1}, {0, 2}};
  return b;
}
}  // namespace

TEST_CASE("backbone choice: default configs save no backbone key and read back as resnet18") {
  for (const std::string& kind : det::model_kinds()) {
    Generator gen(0);
    auto net = det::make_model(kind, 3, {}, gen);
    CHECK_MESSAGE(!net->config_json().contains("backbone"), kind);
    Generator g2(0);
    auto again = det::model_from_config(kind, net->config_json(), g2);
    CHECK(again->describe() == net->describe());
    CHECK(again->describe().find("ResNet-18") != std::string::npos);
  }
}

TEST_CASE("backbone choice: every detector trains a step and round-trips on ShuffleNetV2 and SNet") {
  for (const std::string& kind : det::model_kinds()) {
    for (const std::string bb : {"shufflenet_v2_x0_5", "snet49"}) {
      CAPTURE(kind);
      CAPTURE(bb);
      Generator gen(1);
      auto net = det::make_model(kind, 3, {{"backbone", bb}}, gen);
      CHECK(net->config_json().at("backbone") == bb);
      CHECK(net->describe().find(bb == "snet49" ? "SNet-49" : "ShuffleNetV2 x0.5") != std::string::npos);
      net->train();
      det::LossReport loss = net->loss(tiny_batch());
      CHECK(std::isfinite(loss.total.item()));
      loss.total.backward();
      int64_t with_grad = 0;
      for (auto& [name, p] : net->named_parameters())
        if (p.grad().defined() && name.rfind("backbone.", 0) == 0) ++with_grad;
      CHECK(with_grad > 0);  // the backbone's parameters receive gradients
      net->eval();
      det::Detector& d1 = det::detector_of(*net, "test");
      auto dets = d1.detect(tiny_batch().images, d1.default_inference());
      CHECK(dets.size() == 2);
      // model file round trip: same config, same outputs
      det::ModelInfo info;
      info.kind = net->kind();
      info.config = net->config_json();
      info.class_names = {"a", "b", "c"};
      info.category_ids = {1, 2, 3};
      info.input_height = info.input_width = 64;
      const std::string path = (std::filesystem::temp_directory_path() /
                                ("detgrad_bb_" + kind + bb + std::to_string(getpid()) + ".safetensors"))
                                   .string();
      det::save_model(path, *net, info);
      det::LoadedModel m = det::load_model(path);
      std::filesystem::remove(path);
      CHECK(m.net->config_json() == net->config_json());
      auto d2 = det::detector_of(*m.net, "test").detect(tiny_batch().images, d1.default_inference());
      CHECK(d2[0].scores.to_vector() == dets[0].scores.to_vector());
    }
  }
}

TEST_CASE("backbone choice: an unknown backbone names the known ones") {
  Generator gen(0);
  CHECK_THROWS_WITH_AS(det::make_model("fcos", 3, {{"backbone", "vgg"}}, gen),
                       doctest::Contains("unknown backbone 'vgg' (known: resnet18, resnet34"), Error);
  CHECK(nn::backbone_text("shufflenet_v2_x1_0", 1) == "ShuffleNetV2 x1.0");
  CHECK(nn::backbone_text("resnet34", 0.5) == "ResNet-34 x0.5");
}
