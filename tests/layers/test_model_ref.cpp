// `detgrad ref model:NAME` end to end (a ShuffleNetV2 x0.5 with weights written by save_weights), and
// nn::run_model's errors. The full-size comparison with torchvision is
// tests/layers/check_resnet18_vs_torchvision.py (needs PyTorch).
#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdio>
#include <filesystem>

#include "autograd/io/tensor_npy.h"
#include "autograd/ops.h"
#include "layers/model_zoo.h"
#include "layers/serialize.h"
#include "layers/shufflenet.h"
#include "tests/support.h"

using namespace dg;
using namespace dg::nn;
namespace fs = std::filesystem;

namespace {
const std::string kFix = std::string(DETGRAD_SOURCE_DIR) + "/tests/layers/fixtures/";
}  // namespace

TEST_CASE("layers model ref: detgrad ref model:shufflenet_v2_x0_5 writes logits and every intermediate") {
  fs::path d = fs::temp_directory_path() / ("detgrad_test_model_ref_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  Generator gen(11);
  auto m = shufflenet_v2_x0_5(gen, 7);  // 7 classes: the CLI reads the count from fc.weight
  save_weights(*m, (d / "w.safetensors").string());
  Tensor x = randn({1, 3, 32, 32}, gen);
  io::save_npy((d / "x.npy").string(), x);
  m->eval();
  Tensor want, want_unit;
  m->set_forward_hook([&](const std::string& prefix, const Tensor& out) {
    if (prefix == "stage3.2.branch2.3") want_unit = out;
  });
  {
    NoGradGuard ng;
    want = (*m)(x);
  }
  std::string out;
  int st = run_detgrad("ref model:shufflenet_v2_x0_5 --weights " + (d / "w.safetensors").string() + " --in input=" +
                           (d / "x.npy").string() + " --out " + (d / "out").string() + " --dump-intermediates",
                       out);
  CHECK_MESSAGE(st == 0, out);
  Tensor got = io::load_npy((d / "out/out.npy").string());
  CHECK(got.shape() == Shape{1, 7});
  check_close(got, want, 0);  // same code, same thread count: same bits
  CHECK(fs::exists(d / "out/conv1.0.npy"));
  CHECK(fs::exists(d / "out/stage2.npy"));
  CHECK(fs::exists(d / "out/fc.npy"));
  REQUIRE(fs::exists(d / "out/stage3.2.branch2.3.npy"));
  check_close(io::load_npy((d / "out/stage3.2.branch2.3.npy").string()), want_unit, 0);

  // Weights of another model: exit 1, the offending keys listed.
  st = run_detgrad("ref model:resnet18 --weights " + (d / "w.safetensors").string() +
                       " --in input=" + (d / "x.npy").string() + " --out " + (d / "out2").string(),
                   out);
  CHECK(st == 1);
  CHECK_MESSAGE(out.find("missing key(s): conv1.weight, bn1.weight") != std::string::npos, out);
  CHECK_MESSAGE(out.find("unexpected key(s): conv1.0.weight") != std::string::npos, out);
  st = run_detgrad("ref model:resnet18 --in input=" + (d / "x.npy").string() + " --out " + (d / "out2").string(), out);
  CHECK(st == 1);
  CHECK_MESSAGE(out.find("--weights FILE.safetensors is required") != std::string::npos, out);
  fs::remove_all(d);
}

TEST_CASE("layers model ref: run_model errors name the problem") {
  Tensor x = zeros({1, 3, 32, 32});
  CHECK_THROWS_WITH_AS(
      run_model("resnet19", kFix + "tiny_resnet.safetensors", x, false),
      "model: unknown model 'resnet19' (known: resnet18, resnet34, shufflenet_v2_x0_5, shufflenet_v2_x1_0)", Error);
  // The 1/16-width fixture in a full-width resnet18: every conv and BN is mis-shaped.
  try {
    run_model("resnet18", kFix + "tiny_resnet.safetensors", x, false);
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("tiny_resnet.safetensors: load_state_dict (ResNet):") != std::string::npos);
    CHECK(msg.find("layer4.1.bn2.running_var: checkpoint [32] vs model [512]") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(run_model("resnet18", kFix + "tiny_resnet.safetensors", zeros({1, 3, 8, 8}, DType::i64), false),
                       "model:resnet18: input must be f32 or f64, got i64", Error);
}
