// Blocks: shapes, parameter counts, f64 gradient checks of tiny instances (input and every
// parameter, BatchNorm in training mode), and torchvision goldens for Inception and FPN.
#include <doctest/doctest.h>

#include <fstream>

#include "autograd/io/tensor_npy.h"
#include "autograd/ops.h"
#include "layers/backbone.h"
#include "layers/depthwise_separable.h"
#include "layers/fpn.h"
#include "layers/inception.h"
#include "layers/resnet.h"
#include "layers/serialize.h"
#include "layers/shufflenet.h"
#include "tests/layers/layers_test_util.h"

using namespace dg;
using namespace dg::nn;

namespace {
const std::string kFix = std::string(DETGRAD_SOURCE_DIR) + "/tests/layers/fixtures/";

// FPN over (x, avg_pool(x)) with all outputs flattened and joined: one tensor for the gradient check.
struct FpnProbe : Module {
  std::shared_ptr<FPN> fpn;
  FpnProbe(Generator& gen) : Module("FpnProbe") {
    fpn = register_module("fpn", std::make_shared<FPN>(std::vector<int64_t>{2, 2}, 2, gen, FPNOptions{.p6p7 = true}));
  }
  Tensor forward(const Tensor& x) override {
    std::vector<Tensor> outs = fpn->forward_features({x, avg_pool2d(x, {2})});
    std::vector<Tensor> flat;
    for (auto& o : outs) flat.push_back(flatten(o));
    return cat(flat, 0);
  }
};
}  // namespace

TEST_CASE("layers blocks: output shapes") {
  Generator gen(0);
  Tensor x = randn({2, 8, 12, 10}, gen);
  CHECK(BasicBlock(8, 8, 1, gen)(x).shape() == Shape{2, 8, 12, 10});
  CHECK(BasicBlock(8, 16, 2, gen)(x).shape() == Shape{2, 16, 6, 5});
  CHECK(ShuffleNetUnit(8, 8, 1, gen)(x).shape() == Shape{2, 8, 12, 10});
  CHECK(ShuffleNetUnit(8, 20, 2, gen)(x).shape() == Shape{2, 20, 6, 5});
  CHECK(ShuffleNetUnit(8, 20, 2, gen, 5)(x).shape() == Shape{2, 20, 6, 5});
  CHECK(DepthwiseSeparable(8, 12, gen)(x).shape() == Shape{2, 12, 12, 10});
  CHECK(DepthwiseSeparable(8, 12, gen, 2)(x).shape() == Shape{2, 12, 6, 5});
  CHECK(Inception(8, {3, 4, 5, 2, 6, 7}, gen)(x).shape() == Shape{2, 3 + 5 + 6 + 7, 12, 10});

  FPN fpn({4, 8, 16}, 6, gen, FPNOptions{.p6p7 = true});
  std::vector<Tensor> p = fpn.forward_features(
      {randn({1, 4, 20, 18}, gen), randn({1, 8, 10, 9}, gen), randn({1, 16, 5, 5}, gen)});
  REQUIRE(p.size() == 5);
  CHECK(fpn.levels() == std::vector<int64_t>{3, 4, 5, 6, 7});
  CHECK(p[0].shape() == Shape{1, 6, 20, 18});
  CHECK(p[1].shape() == Shape{1, 6, 10, 9});  // odd sizes: upsampling goes to the lateral's exact size
  CHECK(p[2].shape() == Shape{1, 6, 5, 5});
  CHECK(p[3].shape() == Shape{1, 6, 3, 3});
  CHECK(p[4].shape() == Shape{1, 6, 2, 2});
  FPN chosen({4, 8, 16}, 6, gen, FPNOptions{.p6p7 = true, .out_levels = {4, 6}});
  CHECK(chosen.forward_features({randn({1, 4, 20, 18}, gen), randn({1, 8, 10, 9}, gen), randn({1, 16, 5, 5}, gen)})
            .size() == 2);
  CHECK_THROWS_WITH_AS(FPN({4}, 6, gen, FPNOptions{.out_levels = {4}}),
                       "FPN: out level P4 is not produced (levels P3..P3)", Error);
  CHECK_THROWS_WITH_AS(fpn.forward_features({randn({1, 4, 8, 8}, gen)}), "FPN: expected 3 feature maps, got 1", Error);
  CHECK_THROWS_WITH_AS(fpn(randn({1, 4, 8, 8}, gen)),
                       "FPN: forward(Tensor) is not defined for this module (input [1,4,8,8]); call its own method",
                       Error);
  CHECK_THROWS_WITH_AS((*fpn.inner_blocks)[3], "ModuleList: index 3 out of range for 3 modules", Error);

  auto r = resnet18(gen, 10, 0.125);
  std::vector<Tensor> c = r->features(randn({1, 3, 64, 64}, gen));
  CHECK(r->feature_channels() == std::vector<int64_t>{8, 16, 32, 64});
  CHECK(c[0].shape() == Shape{1, 8, 16, 16});
  CHECK(c[3].shape() == Shape{1, 64, 2, 2});
  CHECK(r->forward(randn({2, 3, 32, 32}, gen)).shape() == Shape{2, 10});
  auto s = snet(49, gen, 10);
  std::vector<Tensor> sf = s->features(randn({1, 3, 64, 64}, gen));
  CHECK(sf[1].shape() == Shape{1, 60, 8, 8});
  CHECK(sf[3].shape() == Shape{1, 240, 2, 2});
  CHECK(s->forward(randn({1, 3, 64, 64}, gen)).shape() == Shape{1, 10});
  for (const char* name : {"resnet18", "shufflenet_v2_x0_5", "snet49", "snet146"}) {
    std::shared_ptr<Backbone> b = make_backbone(name, gen, std::string(name) == "resnet18" ? 0.25 : 1.0);
    std::vector<Tensor> f = b->features(randn({1, 3, 64, 96}, gen));
    REQUIRE(f.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
      CHECK_MESSAGE(f[i].size(1) == b->feature_channels()[i], name);
      CHECK_MESSAGE(f[i].size(2) * b->feature_strides()[i] == 64, name);
      CHECK_MESSAGE(f[i].size(3) * b->feature_strides()[i] == 96, name);
    }
  }
  CHECK(make_backbone("resnet34", gen, 0.125)->feature_channels() == std::vector<int64_t>{8, 16, 32, 64});
  CHECK_THROWS_WITH_AS(make_backbone("vgg16", gen), doctest::Contains("make_backbone: unknown backbone 'vgg16'"),
                       Error);
  CHECK_THROWS_WITH_AS(r->forward(randn({1, 1, 32, 32}, gen)), "ResNet: expected input [N, 3, H, W], got [1,1,32,32]",
                       Error);
  CHECK_THROWS_WITH_AS(ShuffleNetUnit(8, 10, 1, gen),
                       "ShuffleNetUnit: a stride-1 unit needs in == out, got in=8 out=10", Error);
}

TEST_CASE("layers blocks: parameter counts") {
  Generator gen(1);
  CHECK(Inception(192, {64, 96, 128, 16, 32, 32}, gen).num_parameters() == 164064);  // GoogLeNet 3a, real 5x5
  CHECK(DepthwiseSeparable(32, 64, gen).num_parameters() == 2528);                   // 9*32 + 2*32 + 32*64 + 2*64
  CHECK(ShuffleNetUnit(116, 116, 1, gen).num_parameters() == 7598);                  // 2c^2 + 15c, c = 58
  CHECK(ShuffleNetUnit(24, 116, 2, gen).num_parameters() == 7398);                   // 11 in + 2 in c + c^2 + 17c
  // BasicBlock(64, 128, 2): 9*64*128 + 9*128*128 + 2*(2*128) + downsample 64*128 + 2*128
  CHECK(BasicBlock(64, 128, 2, gen).num_parameters() == 73728 + 147456 + 512 + 8192 + 256);
  // ResNet-18 backbone at width 0.5, no fc: of torchvision's 11,689,512, fc has 513,000, the BNs 9,600
  // (4,800 channels), conv1 9,408 (3*64*49: halves), the other convs 11,157,504 (quarter).
  auto r = std::make_shared<ResNet>(ResNetOptions{.depth = 18, .width_mult = 0.5, .include_top = false}, gen);
  CHECK(r->num_parameters() == 11157504 / 4 + 9408 / 2 + 9600 / 2);
  // FPN(256, 512 -> 64) + P6/P7: laterals 256*64+64 + 512*64+64, outputs 2*(9*64*64+64), extras 2*(9*64*64+64)
  CHECK(FPN({256, 512}, 64, gen, FPNOptions{.p6p7 = true}).num_parameters() == 16448 + 32832 + 4 * 36928);
}

TEST_CASE("layers gradcheck: every block in f64 (input and all parameters)") {
  Generator gen(2);
  auto run = [&](Module& m, const Shape& in) {
    m.to(DType::f64);
    std::string r = testing::check_module_gradients(m, randn(in, gen, DType::f64));
    CHECK_MESSAGE(r == "", m.type_name() << ": " << r);
  };
  BasicBlock b1(2, 2, 1, gen);
  run(b1, {2, 2, 4, 4});
  BasicBlock b2(2, 3, 2, gen);
  run(b2, {2, 2, 4, 4});
  ShuffleNetUnit u1(4, 4, 1, gen);
  run(u1, {2, 4, 3, 3});
  ShuffleNetUnit u2(2, 4, 2, gen, 5);
  run(u2, {2, 2, 4, 4});
  DepthwiseSeparable d(2, 3, gen, 2);
  run(d, {2, 2, 4, 4});
  Inception inc(2, {1, 1, 2, 1, 1, 1}, gen);
  run(inc, {2, 2, 3, 3});
  FpnProbe fp(gen);
  run(fp, {1, 2, 4, 4});
  b2.eval();  // eval mode: running statistics are constants
  run(b2, {2, 2, 4, 4});
}

TEST_CASE("layers inception: torchvision's Inception block (with a real 5x5) gives its outputs") {
  Generator gen(3);
  Inception m(8, {4, 4, 6, 2, 4, 3}, gen);
  std::ifstream keys(kFix + "tiny_inception.keys.txt");
  std::string line;
  std::getline(keys, line);
  for (auto& [k, t] : m.state_dict()) {
    std::getline(keys, line);
    CHECK(line.substr(0, line.find(' ')) == k);
  }
  load_weights(m, kFix + "tiny_inception.safetensors");
  Tensor x = io::load_npy(kFix + "tiny_inception.input.npy");
  m.eval();
  check_close(m(x), io::load_npy(kFix + "tiny_inception.out.npy"), 1e-5, "eval out", ErrorScale::tensor);
  m.train();
  check_close(m(x), io::load_npy(kFix + "tiny_inception.train_out.npy"), 1e-5, "train out", ErrorScale::tensor);
}

TEST_CASE("layers fpn: torchvision's FeaturePyramidNetwork + LastLevelP6P7 gives its outputs") {
  Generator gen(4);
  FPN m({8, 16, 32}, 16, gen, FPNOptions{.p6p7 = true});
  load_weights(m, kFix + "tiny_fpn.safetensors");  // strict: same keys as torchvision
  std::vector<Tensor> xs;
  for (int i = 0; i < 3; ++i) xs.push_back(io::load_npy(kFix + "tiny_fpn.in" + std::to_string(i) + ".npy"));
  std::vector<Tensor> outs = m.forward_features(xs);
  REQUIRE(outs.size() == 5);
  for (int i = 0; i < 5; ++i)
    check_close(outs[(size_t)i], io::load_npy(kFix + "tiny_fpn.out" + std::to_string(i) + ".npy"), 1e-5,
                "out" + std::to_string(i), ErrorScale::tensor);
}

TEST_CASE("layers determinism: a training step of a small ResNet gives the same bits on 1, 2 and 3 threads") {
  same_bits_for_threads([] {
    Generator gen(5);
    auto m = resnet18(gen, 10, 0.125);
    Tensor x = randn({4, 3, 32, 32}, gen);
    Tensor y = randint({4}, 0, 10, gen);
    Tensor loss = cross_entropy(m->forward(x), y);
    loss.backward();
    std::vector<std::pair<std::string, Tensor>> r{{"loss", loss}};
    for (auto& [k, p] : m->named_parameters()) r.push_back({"grad " + k, p.grad()});
    r.push_back({"bn1.running_var", m->bn1->running_var});
    return r;
  });
}
