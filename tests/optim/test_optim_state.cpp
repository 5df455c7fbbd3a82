// Optimizer plumbing: parameter groups and the no-decay split, zero_grad, state_dict/load_state_dict
// (round trip continues bit-identically; every kind of mismatch is a clear error), argument checks.
#include <doctest/doctest.h>

#include "autograd/generator.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/sgd.h"

using namespace dg;
using namespace dg::optim;

namespace {
NamedTensors tiny_model(Generator& gen) {
  return {{"conv.weight", randn({4, 3, 3, 3}, gen).set_requires_grad(true)},
          {"conv.bias", randn({4}, gen).set_requires_grad(true)},
          {"bn.weight", randn({4}, gen).set_requires_grad(true)},
          {"fc.weight", randn({2, 4}, gen).set_requires_grad(true)},
          {"fc.bias", randn({2}, gen).set_requires_grad(true)}};
}
void fill_grads(const NamedTensors& m, Generator& gen) {
  for (auto [n, p] : m) p.set_grad(randn(p.shape(), gen));
}
std::vector<uint8_t> bytes_of(const NamedTensors& m) {
  std::vector<uint8_t> out;
  for (auto& [n, p] : m) {
    auto* b = static_cast<const uint8_t*>(p.raw());
    out.insert(out.end(), b, b + p.nbytes());
  }
  return out;
}
}  // namespace

TEST_CASE("optim groups: no_decay_groups puts rank<=1 tensors and biases in a wd=0 group") {
  Generator gen(1);
  auto m = tiny_model(gen);
  auto groups = no_decay_groups(m, 0.05);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].names == std::vector<std::string>{"conv.weight", "fc.weight"});
  CHECK(groups[1].names == std::vector<std::string>{"conv.bias", "bn.weight", "fc.bias"});
  AdamW opt(groups, AdamWOptions{});
  CHECK(opt.param_groups()[0].weight_decay == 0.05);
  CHECK(opt.param_groups()[1].weight_decay == 0.0);
  CHECK(opt.param_groups()[1].lr == 1e-3);  // inherited
  // the decay group shrinks a zero-gradient weight, the no-decay group leaves its tensors alone
  for (auto [n, p] : m) p.set_grad(zeros(p.shape()));
  auto before_w = m[0].second.to_vector(), before_b = m[1].second.to_vector();
  opt.step();
  CHECK(m[0].second.to_vector() != before_w);
  CHECK(m[1].second.to_vector() == before_b);
  opt.zero_grad();
  for (auto& [n, p] : m) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("optim state: save after N steps, load into a fresh optimizer, continue bit-identically") {
  for (int kind = 0; kind < 3; ++kind) {
    CAPTURE(kind);
    auto make = [&](const NamedTensors& m) -> std::unique_ptr<Optimizer> {
      if (kind == 0)
        return std::make_unique<SGD>(single_group(m), SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
      if (kind == 1) return std::make_unique<Adam>(no_decay_groups(m, 0.1), AdamOptions{.lr = 0.01, .amsgrad = true});
      return std::make_unique<AdamW>(no_decay_groups(m, 0.1));
    };
    Generator g1(5), g2(5);
    auto ma = tiny_model(g1), mb = tiny_model(g2);
    auto oa = make(ma);
    Generator ga(9);
    for (int s = 0; s < 6; ++s) {  // uninterrupted: 6 steps
      fill_grads(ma, ga);
      oa->step();
    }
    auto ob = make(mb);
    Generator gb(9);
    for (int s = 0; s < 3; ++s) {
      fill_grads(mb, gb);
      ob->step();
    }
    auto saved = ob->state_dict();
    auto oc = make(mb);  // a fresh optimizer on the same parameters
    oc->load_state_dict(saved);
    CHECK(oc->state_dict().size() == saved.size());
    for (int s = 0; s < 3; ++s) {
      fill_grads(mb, gb);
      oc->step();
    }
    CHECK(bytes_of(ma) == bytes_of(mb));
    CHECK(oc->step_count(0, 0) == 6);
  }
}

TEST_CASE("optim state: mismatches are errors naming the key and shapes") {
  Generator gen(2);
  auto m = tiny_model(gen);
  Adam opt(single_group(m));
  fill_grads(m, gen);
  opt.step();
  auto sd = opt.state_dict();
  CHECK(sd.count("conv.weight.exp_avg") == 1);
  CHECK(sd.at("conv.weight.step").item() == 1);

  auto bad = sd;
  bad["conv.weight.exp_avg"] = zeros({4, 3, 3});
  CHECK_THROWS_WITH_AS(opt.load_state_dict(bad),
                       doctest::Contains("Adam: load_state_dict: 'conv.weight.exp_avg' has shape [4,3,3] f32 but the "
                                         "parameter is [4,3,3,3] f32"),
                       Error);
  bad = sd;
  bad["nope.exp_avg"] = zeros({1});
  CHECK_THROWS_WITH_AS(opt.load_state_dict(bad), doctest::Contains("unexpected key 'nope.exp_avg' [1]"), Error);
  bad = sd;
  bad.erase("fc.bias.exp_avg_sq");
  CHECK_THROWS_WITH_AS(opt.load_state_dict(bad), doctest::Contains("missing 'fc.bias.exp_avg_sq'"), Error);
  bad = sd;
  bad.erase("param_groups.0.lr");
  CHECK_THROWS_WITH_AS(opt.load_state_dict(bad), doctest::Contains("missing 'param_groups.0.lr'"), Error);
  // a failed load leaves the optimizer as it was
  CHECK(opt.state_dict().size() == sd.size());
}

TEST_CASE("optim: argument and parameter checks") {
  Tensor p = zeros({2}).set_requires_grad(true);
  CHECK_THROWS_WITH_AS(SGD({p}, SGDOptions{.lr = 0.1, .nesterov = true}),
                       doctest::Contains("SGD: nesterov momentum requires momentum > 0"), Error);
  CHECK_THROWS_WITH_AS(Adam({p}, AdamOptions{.beta1 = 1.0}), doctest::Contains("Adam: invalid beta1 1"), Error);
  CHECK_THROWS_WITH_AS(SGD({p, p}), doctest::Contains("appears in more than one place"), Error);
  CHECK_THROWS_WITH_AS(SGD({zeros({2}, DType::i64)}), doctest::Contains("has dtype i64"), Error);
  SGD opt({p});
  // a parameter without a gradient is skipped and gets no state
  p.zero_grad();
  opt.step();
  CHECK(opt.step_count(0, 0) == 0);
}
