// Checkpoints (autograd/optim/checkpoint.h): a tiny MLP made of raw tensors trained 2N steps without a
// break gives the same bytes as N steps + save + load into fresh objects + N steps (model, Adam state,
// LR schedule, and the Generator that draws the batches). Plus the errors of a mismatched checkpoint.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/checkpoint.h"
#include "autograd/optim/clip.h"

using namespace dg;
using namespace dg::io;
using namespace dg::optim;
namespace fs = std::filesystem;

namespace {
struct Run {
  TensorMap params;  // fc1.weight [4,16], fc1.bias [16], fc2.weight [16,3], fc2.bias [3]
  std::unique_ptr<AdamW> opt;
  std::unique_ptr<LRScheduler> sched;
  Generator data_rng;
  int64_t step = 0;

  explicit Run(uint64_t init_seed, uint64_t data_seed) : data_rng(data_seed) {
    Generator g(init_seed);
    params["fc1.weight"] = mul(randn({4, 16}, g), 0.5).detach().set_requires_grad(true);
    params["fc1.bias"] = zeros({16}).set_requires_grad(true);
    params["fc2.weight"] = mul(randn({16, 3}, g), 0.25).detach().set_requires_grad(true);
    params["fc2.bias"] = zeros({3}).set_requires_grad(true);
    NamedTensors named(params.begin(), params.end());
    opt = std::make_unique<AdamW>(no_decay_groups(named, 0.01), AdamWOptions{});
    opt->set_lr(0.05);
    opt->param_groups()[1].lr = 0.02;
    sched = std::make_unique<LRScheduler>(*opt, warmup(3, 0.1, cosine_lr(20)));
  }
  void train(int n) {
    for (int i = 0; i < n; ++i) {
      // a random batch each step: the data Generator's state matters for resuming
      Tensor x = randn({8, 4}, data_rng);
      Tensor y = randint({8}, 0, 3, data_rng);
      Tensor h = relu(add(matmul(x, params["fc1.weight"]), params["fc1.bias"]));
      Tensor loss = cross_entropy(add(matmul(h, params["fc2.weight"]), params["fc2.bias"]), y);
      opt->zero_grad();
      loss.backward();
      std::vector<Tensor> ps;
      for (auto& [k, p] : params) ps.push_back(p);
      clip_grad_norm(ps, 1.0);
      opt->step();
      sched->step();
      ++step;
    }
  }
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> b;
    for (auto& [k, p] : params) {
      auto* d = static_cast<const uint8_t*>(p.raw());
      b.insert(b.end(), d, d + p.nbytes());
    }
    return b;
  }
};

std::string tmp_path(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("detgrad_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return (d / name).string();
}
}  // namespace

TEST_CASE("checkpoint: 2N steps == N steps + save + load + N steps, byte for byte") {
  const int N = 7;
  Run straight(1, 2);
  straight.train(2 * N);

  Run first(1, 2);
  first.train(N);
  const std::string path = tmp_path("resume.safetensors");
  save_checkpoint(path, first.params, first.opt.get(), TrainState{0, first.step, {{"note", "half way"}}},
                  first.sched.get(), &first.data_rng);
  // the same state saved twice gives the same file
  const std::string again = tmp_path("again.safetensors");
  save_checkpoint(again, first.params, first.opt.get(), TrainState{0, first.step, {{"note", "half way"}}},
                  first.sched.get(), &first.data_rng);
  CHECK(load_safetensors(path).tensors.size() == load_safetensors(again).tensors.size());
  CHECK(serialize_safetensors(load_safetensors(path).tensors, load_safetensors(path).metadata) ==
        serialize_safetensors(load_safetensors(again).tensors, load_safetensors(again).metadata));

  Run resumed(99, 98);  // different init and data seed: everything must come from the file
  TrainState st = load_checkpoint(path, resumed.params, resumed.opt.get(), resumed.sched.get(), &resumed.data_rng);
  CHECK(st.step == N);
  CHECK(st.extra.at("note") == "half way");
  CHECK(resumed.sched->last_step() == N);
  CHECK(resumed.opt->lr(0) == first.opt->lr(0));
  resumed.step = st.step;
  resumed.train(N);
  CHECK(resumed.bytes() == straight.bytes());
  CHECK(resumed.opt->step_count(0, 0) == 2 * N);

  // without the data Generator the continuation differs (the test can fail)
  Run no_rng(99, 98);
  load_checkpoint(path, no_rng.params, no_rng.opt.get(), no_rng.sched.get(), nullptr);
  no_rng.train(N);
  CHECK(no_rng.bytes() != straight.bytes());
  fs::remove_all(fs::path(path).parent_path());
}

TEST_CASE("checkpoint: mismatches are errors and change nothing") {
  Run a(1, 2);
  a.train(2);
  const std::string path = tmp_path("a.safetensors");
  save_checkpoint(path, a.params, a.opt.get(), TrainState{1, 2, {}}, a.sched.get(), &a.data_rng);

  Run b(3, 4);
  const auto before = b.bytes();
  TensorMap other = b.params;
  other["fc3.weight"] = zeros({3, 3});
  CHECK_THROWS_WITH_AS(load_checkpoint(path, other, b.opt.get()),
                       doctest::Contains("model: tensors do not match the "
                                         "expected set:\n  missing "
                                         "'fc3.weight' [3,3]"),
                       Error);
  TensorMap reshaped = b.params;
  reshaped["fc2.bias"] = zeros({4});
  CHECK_THROWS_WITH_AS(load_checkpoint(path, reshaped, b.opt.get()),
                       doctest::Contains("'fc2.bias': file has [3], expected [4]"), Error);
  Adam plain(std::vector<Tensor>{b.params["fc1.bias"]});
  CHECK_THROWS_WITH_AS(load_checkpoint(path, b.params, &plain),
                       doctest::Contains("optimizer state is for AdamW, not Adam"), Error);
  CHECK_THROWS_WITH_AS(load_checkpoint(path, b.params, nullptr),
                       doctest::Contains("holds optimizer state but no optimizer was given"), Error);
  CHECK(b.bytes() == before);  // nothing was loaded by the failed attempts

  const std::string plain_file = tmp_path("plain.safetensors");
  save_safetensors(plain_file, a.params);
  CHECK_THROWS_WITH_AS(load_checkpoint(plain_file, a.params, nullptr), doctest::Contains("not a detgrad checkpoint"),
                       Error);
  Generator g(5);
  CHECK_THROWS_WITH_AS(set_generator_state_hex(g, "zz", "ctx: "), doctest::Contains("rng state has 2 hex digits"),
                       Error);
  // the Generator state round-trips through its text form
  Generator h(11);
  h.normal01();  // leaves a spare normal inside
  Generator k(0);
  set_generator_state_hex(k, generator_state_hex(h), "");
  CHECK(k.normal01() == h.normal01());
  CHECK(k.next_u32() == h.next_u32());
  fs::remove_all(fs::path(path).parent_path());
}
