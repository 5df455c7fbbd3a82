// Backbones against torchvision: parameter counts, state_dict keys/shapes/dtypes (fixtures written by
// tests/layers/export_torchvision.py), and outputs of width-reduced torchvision models with committed
// weights (eval and train mode).
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "autograd/io/tensor_npy.h"
#include "autograd/ops.h"
#include "layers/resnet.h"
#include "layers/serialize.h"
#include "layers/shufflenet.h"
#include "tests/support.h"

using namespace dg;
using namespace dg::nn;

namespace {
const std::string kFix = std::string(DETGRAD_SOURCE_DIR) + "/tests/layers/fixtures/";

// "# name: N parameters, ..." then "key shape dtype" lines.
struct KeyList {
  int64_t num_parameters = 0;
  std::vector<std::string> lines;
};

KeyList read_keys(const std::string& name) {
  std::ifstream f(kFix + name + ".keys.txt");
  REQUIRE(f.good());
  KeyList r;
  std::string line;
  std::getline(f, line);
  std::istringstream head(line.substr(line.find(':') + 1));
  head >> r.num_parameters;
  while (std::getline(f, line))
    if (!line.empty()) r.lines.push_back(line);
  return r;
}

std::vector<std::string> key_lines(const Module& m) {
  std::vector<std::string> r;
  for (auto& [k, t] : m.state_dict()) {
    std::string s;
    for (size_t i = 0; i < t.shape().size(); ++i) s += (i ? "," : "") + std::to_string(t.shape()[i]);
    r.push_back(k + " " + s + " " + dtype_name(t.dtype()));
  }
  return r;
}

void check_against_torchvision(const Module& m, const std::string& name) {
  KeyList want = read_keys(name);
  CHECK(m.num_parameters() == want.num_parameters);
  std::vector<std::string> got = key_lines(m);
  CHECK(got.size() == want.lines.size());
  for (size_t i = 0; i < std::min(got.size(), want.lines.size()); ++i) {
    if (got[i] != want.lines[i]) {
      FAIL_CHECK(name << " entry " << i << ": got '" << got[i] << "', torchvision '" << want.lines[i] << "'");
      break;
    }
  }
}
}  // namespace

TEST_CASE("layers backbones: parameter counts and state_dict keys equal torchvision's") {
  Generator gen(0);
  auto r18 = resnet18(gen);
  CHECK(r18->num_parameters() == 11689512);
  check_against_torchvision(*r18, "resnet18");
  auto r34 = resnet34(gen);
  CHECK(r34->num_parameters() == 21797672);
  check_against_torchvision(*r34, "resnet34");
  auto s05 = shufflenet_v2_x0_5(gen);
  CHECK(s05->num_parameters() == 1366792);
  check_against_torchvision(*s05, "shufflenet_v2_x0_5");
  auto s10 = shufflenet_v2_x1_0(gen);
  CHECK(s10->num_parameters() == 2278604);
  check_against_torchvision(*s10, "shufflenet_v2_x1_0");
}

TEST_CASE("layers backbones: torchvision's ResNet init (kaiming normal fan_out on convs, BN 1/0)") {
  Generator gen(1);
  auto r = resnet18(gen, 10, 0.25);
  // layer3.0.conv1: [64, 32, 3, 3], fan_out = 64 * 9, std = sqrt(2 / 576) = 0.0589
  auto& block = dynamic_cast<BasicBlock&>((*r->layer3)[0]);
  Tensor w = block.conv1->weight;
  CHECK(w.shape() == Shape{64, 32, 3, 3});
  double s2 = 0;
  for (int64_t i = 0; i < w.numel(); ++i) s2 += w.at(i) * w.at(i);
  CHECK(std::sqrt(s2 / (double)w.numel()) == doctest::Approx(std::sqrt(2.0 / 576)).epsilon(0.05));
  CHECK(block.bn1->weight.at(5) == 1.0);
  CHECK(block.bn1->bias.at(5) == 0.0);
}

TEST_CASE("layers resnet: width-reduced torchvision ResNet-18 gives torchvision's outputs") {
  Generator gen(2);
  auto m = resnet18(gen, 10, 1.0 / 16);  // widths 4, 8, 16, 32 as the fixture
  load_weights(*m, kFix + "tiny_resnet.safetensors");
  Tensor x = io::load_npy(kFix + "tiny_resnet.input.npy");
  m->eval();
  {
    NoGradGuard ng;
    check_close(m->forward(x), io::load_npy(kFix + "tiny_resnet.logits.npy"), 1e-4, "logits", ErrorScale::tensor);
    std::vector<Tensor> f = m->features(x);
    REQUIRE(f.size() == 4);
    for (int i = 0; i < 4; ++i) {
      Tensor want = io::load_npy(kFix + "tiny_resnet.c" + std::to_string(i + 2) + ".npy");
      CHECK(f[(size_t)i].shape() == want.shape());
      check_close(f[(size_t)i], want, 1e-4, "features c" + std::to_string(i + 2), ErrorScale::tensor);
    }
  }
  // One train-mode forward: batch statistics, and the running statistics PyTorch leaves behind.
  m->train();
  Tensor y = m->forward(x);
  check_close(y, io::load_npy(kFix + "tiny_resnet.train_logits.npy"), 1e-4, "train logits", ErrorScale::tensor);
  check_close(m->bn1->running_mean, io::load_npy(kFix + "tiny_resnet.train_bn1_running_mean.npy"), 1e-5,
              "bn1.running_mean", ErrorScale::tensor);
  check_close(m->bn1->running_var, io::load_npy(kFix + "tiny_resnet.train_bn1_running_var.npy"), 1e-5,
              "bn1.running_var", ErrorScale::tensor);
  CHECK(m->bn1->num_batches_tracked.at(0) == 8);  // 7 in the file + 1
}

TEST_CASE("layers resnet: a training step's gradients equal torchvision's (width-reduced ResNet-18)") {
  Generator gen(5);
  auto m = resnet18(gen, 10, 1.0 / 16);
  load_weights(*m, kFix + "tiny_resnet.safetensors");
  m->train();
  Tensor x = io::load_npy(kFix + "tiny_resnet.input.npy").set_requires_grad(true);
  cross_entropy(m->forward(x), io::load_npy(kFix + "tiny_resnet.train_target.npy")).backward();
  check_close(x.grad(), io::load_npy(kFix + "tiny_resnet.grad_input.npy"), 1e-4, "grad input", ErrorScale::tensor);
  std::map<std::string, Tensor> params;
  for (auto& [k, p] : m->named_parameters()) params[k] = p;
  for (const char* name : {"conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer3.0.downsample.0.weight",
                           "layer4.1.bn2.bias", "fc.weight", "fc.bias"}) {
    REQUIRE(params.count(name));
    check_close(params[name].grad(), io::load_npy(kFix + "tiny_resnet.grad_" + name + ".npy"), 1e-4, name,
                ErrorScale::tensor);
  }
}

TEST_CASE("layers shufflenet: small torchvision ShuffleNetV2 gives torchvision's outputs") {
  Generator gen(3);
  ShuffleNetV2 m(ShuffleNetV2Options{.repeats = {2, 3, 2}, .widths = {8, 16, 32, 64, 128}, .num_classes = 10}, gen);
  load_weights(m, kFix + "tiny_shufflenet.safetensors");
  m.eval();
  NoGradGuard ng;
  Tensor x = io::load_npy(kFix + "tiny_shufflenet.input.npy");
  check_close(m.forward(x), io::load_npy(kFix + "tiny_shufflenet.logits.npy"), 1e-4, "logits", ErrorScale::tensor);
}

TEST_CASE("layers shufflenet: 5x5 depthwise units (SNet) match torchvision's ShuffleNetV2 patched to 5x5") {
  Generator gen(6);
  ShuffleNetV2 m(
      ShuffleNetV2Options{.repeats = {2, 3, 2}, .widths = {8, 16, 32, 64, 128}, .dw_kernel = 5, .num_classes = 10},
      gen);
  load_weights(m, kFix + "tiny_snet.safetensors");
  m.eval();
  NoGradGuard ng;
  check_close(m.forward(io::load_npy(kFix + "tiny_snet.input.npy")), io::load_npy(kFix + "tiny_snet.logits.npy"), 1e-4,
              "logits", ErrorScale::tensor);
}

TEST_CASE("layers backbones: loading a wrong file lists the offending keys") {
  Generator gen(4);
  auto m = resnet18(gen, 10, 1.0 / 8);  // widths 8.. do not fit the 1/16 fixture
  try {
    load_weights(*m, kFix + "tiny_resnet.safetensors");
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("tiny_resnet.safetensors: load_state_dict (ResNet):") != std::string::npos);
    CHECK(msg.find("conv1.weight: checkpoint [4,3,7,7] vs model [8,3,7,7]") != std::string::npos);
  }
  auto s = shufflenet_v2_x0_5(gen, 10);
  CHECK_THROWS_WITH_AS(load_weights(*s, kFix + "tiny_resnet.safetensors"),
                       doctest::Contains("missing key(s): conv1.0.weight"), Error);
}
