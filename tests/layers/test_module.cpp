// Module framework: registration order, state_dict keys, strict loading and its errors, dtype
// conversion in place, train/eval, forward hooks; the simple layers (Linear, activations,
// Sequential, Scale, norms, pools, dropout).
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/scale.h"
#include "layers/sequential.h"
#include "tests/layers/layers_test_util.h"

using namespace dg;
using namespace dg::nn;

namespace {
// conv (with bias) -> bn -> relu, plus a head Linear: parameters, buffers and nesting.
struct Tiny : Module {
  std::shared_ptr<Sequential> body;
  std::shared_ptr<Linear> head;
  Tensor extra;
  explicit Tiny(Generator& gen) : Module("Tiny") {
    extra = register_parameter("extra", zeros({2}));
    body = register_module("body", std::make_shared<Sequential>(std::vector<ModulePtr>{
                                       std::make_shared<Conv2d>(3, 4, 3, gen, Conv2dOptions{.padding = 1}),
                                       std::make_shared<BatchNorm2d>(4), std::make_shared<ReLU>()}));
    head = register_module("head", std::make_shared<Linear>(4, 2, gen));
  }
  Tensor forward(const Tensor& x) override {
    Tensor y = mean((*body)(x), {2, 3});
    return add((*head)(y), extra);
  }
};

std::vector<std::string> keys(const StateDict& sd) {
  std::vector<std::string> r;
  for (auto& [k, t] : sd) r.push_back(k);
  return r;
}
}  // namespace

TEST_CASE("layers module: registration order, state_dict keys and parameter counts") {
  Generator gen(0);
  Tiny m(gen);
  std::vector<std::string> want{"extra",
                                "body.0.weight",
                                "body.0.bias",
                                "body.1.weight",
                                "body.1.bias",
                                "body.1.running_mean",
                                "body.1.running_var",
                                "body.1.num_batches_tracked",
                                "head.weight",
                                "head.bias"};
  CHECK(keys(m.state_dict()) == want);
  std::vector<std::string> params;
  for (auto& [k, t] : m.named_parameters()) params.push_back(k);
  CHECK(params == std::vector<std::string>{"extra", "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
                                           "head.weight", "head.bias"});
  CHECK(m.num_parameters() == 2 + 4 * 3 * 9 + 4 + 4 + 4 + 4 * 2 + 2);
  for (const Tensor& p : m.parameters()) CHECK(p.requires_grad());
  CHECK(m.state_dict()[7].second.dtype() == DType::i64);
  CHECK(m.state_dict()[7].second.shape() == Shape{});
  auto mods = m.named_modules();
  REQUIRE(mods.size() == 6);
  CHECK(mods[0].first == "");
  CHECK(mods[3].first == "body.1");
  CHECK(mods[3].second->type_name() == "BatchNorm2d");
  CHECK_THROWS_WITH_AS(m.register_buffer("extra", zeros({1})), "Tiny: name 'extra' registered twice", Error);
  CHECK_THROWS_WITH_AS(m.register_parameter("a.b", zeros({1})), doctest::Contains("contains '.'"), Error);
  CHECK(m.str().find("(body): Sequential(") != std::string::npos);
  CHECK(m.str().find("(0): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))") != std::string::npos);
}

TEST_CASE("layers module: load_state_dict copies in place and reports every bad key") {
  Generator g1(1), g2(2);
  Tiny a(g1), b(g2);
  Tensor b_weight = b.head->weight;  // a handle held elsewhere (as an optimiser would)
  b.load_state_dict(a.state_dict());
  CHECK(b.head->weight.impl() == b_weight.impl());  // same tensor...
  check_close(b_weight, a.head->weight, 0);         // ...new values
  check_close(b.body->operator[](0).own_parameters()[0].second, a.body->operator[](0).own_parameters()[0].second, 0);

  StateDict sd = a.state_dict();
  sd.erase(sd.begin() + 1);                           // missing body.0.weight
  sd.push_back({"head.weight_typo", zeros({2, 4})});  // unexpected
  sd[7].second = zeros({3});                          // index 7 is now head.weight
  bool threw = false;
  try {
    b.load_state_dict(sd);
  } catch (const Error& e) {
    threw = true;
    std::string msg = e.what();
    CHECK(msg.find("1 missing key(s): body.0.weight") != std::string::npos);
    CHECK(msg.find("1 unexpected key(s): head.weight_typo") != std::string::npos);
    CHECK(msg.find("mis-shaped: head.weight: checkpoint [3] vs model [2,4]") != std::string::npos);
  }
  CHECK(threw);
  // Non-strict ignores missing/unexpected keys but never a wrong shape.
  StateDict partial{{"head.bias", full({2}, 0.5)}, {"unknown", zeros({1})}};
  b.load_state_dict(partial, /*strict=*/false);
  CHECK(b.head->bias.at(1) == 0.5);
  CHECK_THROWS_WITH_AS(b.load_state_dict({{"head.bias", zeros({3})}}, false),
                       doctest::Contains("head.bias: checkpoint [3] vs model [2]"), Error);
}

TEST_CASE("layers module: to(f64) keeps the handles, integer buffers stay i64") {
  Generator gen(3);
  Tiny m(gen);
  Tensor w = m.head->weight;
  const double before = w.at(3);
  m.to(DType::f64);
  CHECK(w.dtype() == DType::f64);
  CHECK(m.head->weight.impl() == w.impl());
  CHECK(w.at(3) == before);  // f32 -> f64 is exact
  CHECK(m.state_dict()[7].second.dtype() == DType::i64);
  CHECK(w.requires_grad());
}

TEST_CASE("layers module: train/eval reach every descendant; BatchNorm behaves accordingly") {
  Generator gen(4);
  Tiny m(gen);
  auto& bn = dynamic_cast<BatchNorm2d&>((*m.body)[1]);
  CHECK(bn.is_training());
  m.eval();
  CHECK(!bn.is_training());
  m.train();
  CHECK(bn.is_training());

  // Train: batch statistics, running stats move with momentum 0.1, the counter counts.
  BatchNorm2d b(2);
  Tensor x = from_vector({1, 3, 5, 7, 10, 10, 10, 14}, {2, 2, 1, 2});  // channel 0: 1,3,10,10; channel 1: 5,7,10,14
  Tensor y = b(x);
  // channel 0: mean 6, biased var ((25+9+16+16)/4) = 16.5 -> y[0] = (1-6)/sqrt(16.5+1e-5)
  CHECK(y.at(0) == doctest::Approx(-5.0 / std::sqrt(16.5 + 1e-5)));
  // unbiased var 22 -> running_var = 0.9 * 1 + 0.1 * 22 = 3.1; running_mean = 0.6
  CHECK(b.running_mean.at(0) == doctest::Approx(0.6));
  CHECK(b.running_var.at(0) == doctest::Approx(3.1));
  CHECK(b.num_batches_tracked.at(0) == 1);
  // Eval: the running statistics, counter unchanged.
  b.eval();
  Tensor z = b(x);
  CHECK(z.at(0) == doctest::Approx((1 - 0.6) / std::sqrt(3.1 + 1e-5)).epsilon(1e-6));
  CHECK(b.num_batches_tracked.at(0) == 1);
  CHECK_THROWS_WITH_AS(b(zeros({2, 3, 4, 4})), "BatchNorm2d(2): expected input [N, 2, H, W], got [2,3,4,4]", Error);
}

TEST_CASE("layers module: freezing a subtree stops its gradients") {
  Generator gen(10);
  Tiny m(gen);
  m.body->set_requires_grad(false);
  sum(m(randn({2, 3, 4, 4}, gen))).backward();
  for (auto& [k, p] : m.named_parameters()) {
    const bool frozen = k.rfind("body.", 0) == 0;
    CHECK_MESSAGE(p.requires_grad() == !frozen, k);
    CHECK_MESSAGE(p.grad().defined() == !frozen, k);
  }
  m.body->set_requires_grad(true);
  CHECK(m.body->parameters()[0].requires_grad());
}

TEST_CASE("layers module: forward hooks see every submodule by its state_dict prefix") {
  Generator gen(5);
  Tiny m(gen);
  std::vector<std::pair<std::string, Shape>> seen;
  m.set_forward_hook([&](const std::string& prefix, const Tensor& out) { seen.push_back({prefix, out.shape()}); });
  m(randn({1, 3, 5, 5}, gen));
  std::vector<std::string> names;
  for (auto& [n, s] : seen) names.push_back(n);
  CHECK(names == std::vector<std::string>{"body.0", "body.1", "body.2", "body", "head", ""});
  CHECK(seen[0].second == Shape{1, 4, 5, 5});
  m.set_forward_hook({});
  seen.clear();
  m(randn({1, 3, 5, 5}, gen));
  CHECK(seen.empty());
}

TEST_CASE("layers linear: y = x W^T + b, PyTorch's init bounds, errors") {
  Generator gen(6);
  Linear lin(3, 2, gen);
  CHECK(lin.weight.shape() == Shape{2, 3});
  for (int64_t i = 0; i < 6; ++i) CHECK(std::abs(lin.weight.at(i)) <= 1 / std::sqrt(3.0));
  CHECK(lin.weight.at(0) != lin.weight.at(1));
  lin.load_state_dict({{"weight", tensor({1, 2, 3, 0, -1, 1}, {2, 3})}, {"bias", tensor({0.5, -0.5}, {2})}});
  Tensor y = lin(tensor({1, 1, 1, 2, 0, 1}, {1, 2, 3}));  // leading dims kept
  CHECK(y.shape() == Shape{1, 2, 2});
  // row (1,1,1): 1+2+3+0.5 = 6.5, 0-1+1-0.5 = -0.5; row (2,0,1): 2+0+3+0.5 = 5.5, 0+0+1-0.5 = 0.5
  CHECK(y.to_vector() == std::vector<double>{6.5, -0.5, 5.5, 0.5});
  CHECK_THROWS_WITH_AS(lin(zeros({2, 4})), "Linear: expected input [..., 3], got [2,4]", Error);
  Linear nob(3, 2, gen, false);
  CHECK(nob.num_parameters() == 6);
}

TEST_CASE("layers conv: default init bounds and parameter shapes") {
  Generator gen(7);
  Conv2d c(4, 6, Hw(3, 1), gen, Conv2dOptions{.groups = 2});
  CHECK(c.weight.shape() == Shape{6, 2, 3, 1});
  const double bound = 1 / std::sqrt(2.0 * 3 * 1);  // fan_in = in/groups * kh * kw
  double mx = 0;
  for (int64_t i = 0; i < c.weight.numel(); ++i) mx = std::max(mx, std::abs(c.weight.at(i)));
  CHECK(mx <= bound);
  CHECK(mx > 0.5 * bound);
  for (int64_t i = 0; i < 6; ++i) CHECK(std::abs(c.bias.at(i)) <= bound);
  ConvTranspose2d t(4, 6, 4, gen, ConvTranspose2dOptions{.stride = 2, .padding = 1, .bias = false});
  CHECK(t.weight.shape() == Shape{4, 6, 4, 4});
  CHECK(t(zeros({1, 4, 5, 5})).shape() == Shape{1, 6, 10, 10});
  CHECK_THROWS_WITH_AS(Conv2d(3, 4, 3, gen, Conv2dOptions{.groups = 2}),
                       doctest::Contains("Conv2d: invalid configuration in=3"), Error);
  CHECK_THROWS_WITH_AS(c(zeros({1, 3, 5, 5})), "Conv2d(4, 6): expected input [N, 4, H, W], got [1,3,5,5]", Error);
}

TEST_CASE("layers simple modules: activations, pools, upsample, dropout, scale, norms") {
  Generator gen(8);
  Tensor x = randn({2, 4, 6, 6}, gen);
  check_close(ReLU()(x), relu(x), 0);
  check_close(LeakyReLU(0.2)(x), leaky_relu(x, 0.2), 0);
  check_close(SiLU()(x), silu(x), 0);
  check_close(Sigmoid()(x), sigmoid(x), 0);
  CHECK(MaxPool2d({3}, {2}, {1})(x).shape() == Shape{2, 4, 3, 3});
  CHECK(AvgPool2d({2})(x).shape() == Shape{2, 4, 3, 3});
  CHECK(AdaptiveAvgPool2d({1, 1})(x).shape() == Shape{2, 4, 1, 1});
  CHECK(Upsample(InterpolateOptions{.scale_factor = {2.0}})(x).shape() == Shape{2, 4, 12, 12});
  CHECK(GroupNorm(2, 4)(x).shape() == x.shape());
  CHECK(LayerNorm({6, 6})(x).shape() == x.shape());
  CHECK_THROWS_WITH_AS(GroupNorm(3, 4), doctest::Contains("GroupNorm: num_channels (4)"), Error);

  Dropout d(0.5, 1);
  Tensor dy = d(x);
  int zeros_seen = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (dy.at(i) == 0) ++zeros_seen;
    else CHECK(dy.at(i) == doctest::Approx(2 * x.at(i)));
  }
  CHECK(zeros_seen > x.numel() / 4);
  CHECK(zeros_seen < 3 * x.numel() / 4);
  d.eval();
  check_close(d(x), x, 0);

  Scale s;
  CHECK(s.scale.shape() == Shape{});
  CHECK(s.scale.item() == 1.0);
  Tensor ys = s(x);
  sum(ys).backward();
  double total = 0;
  for (int64_t i = 0; i < x.numel(); ++i) total += x.at(i);
  CHECK(s.scale.grad().item() == doctest::Approx(total));  // ds = sum(g * x) with g = 1
}

TEST_CASE("layers gradcheck: small modules in f64, input and every parameter") {
  Generator gen(9);
  Sequential seq(
      std::vector<ModulePtr>{std::make_shared<Conv2d>(2, 3, 3, gen, Conv2dOptions{.stride = 2, .padding = 1}),
                             std::make_shared<GroupNorm>(1, 3), std::make_shared<SiLU>(),
                             std::make_shared<ConvTranspose2d>(3, 2, 2, gen, ConvTranspose2dOptions{.stride = 2}),
                             std::make_shared<Scale>(0.7)});
  seq.to(DType::f64);
  CHECK(testing::check_module_gradients(seq, randn({2, 2, 4, 4}, gen, DType::f64)) == "");
  Linear lin(3, 2, gen);
  lin.to(DType::f64);
  CHECK(testing::check_module_gradients(lin, randn({4, 3}, gen, DType::f64)) == "");
  BatchNorm2d bn(3);  // training mode: gradients through the batch statistics
  bn.to(DType::f64);
  CHECK(testing::check_module_gradients(bn, randn({2, 3, 2, 2}, gen, DType::f64)) == "");
}
