// `detgrad demo`: the README's first command. For now it trains a small MLP with the engine on a 2-D
// toy problem (two interleaved spirals), prints the loss falling, and draws the learned decision
// regions as text. (The CenterNet issue replaces it with the detector demo.)
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "autograd/ops.h"
#include "tools/commands.h"
#include "tools/progress.h"

namespace dg::tools {

namespace {
struct DemoOptions {
  int steps = 1500;
  int points = 400;
  double lr = 0.05;
  uint64_t seed = 0;
};

// Two spirals: class k's points at angle t + k*pi, radius growing with t, plus noise. x [n,2], y [n].
std::pair<Tensor, Tensor> spirals(int n, Generator& gen) {
  std::vector<double> xs, ys;
  for (int i = 0; i < n; ++i) {
    int k = i % 2;
    double t = 0.5 + 3.0 * (double)(i / 2) / (double)(n / 2);
    double r = t / 3.5;
    xs.push_back(r * std::cos(t * 1.8 + M_PI * k) + 0.04 * gen.normal01());
    xs.push_back(r * std::sin(t * 1.8 + M_PI * k) + 0.04 * gen.normal01());
    ys.push_back(k);
  }
  return {from_vector(xs, {n, 2}), from_vector(ys, {n}, DType::i64)};
}

struct Linear {
  Tensor w, b;  // w [in, out], b [out]
  Linear(int in, int out, Generator& gen) {
    double bound = 1.0 / std::sqrt((double)in);  // PyTorch's default nn.Linear range
    w = uniform({in, out}, -bound, bound, gen).set_requires_grad();
    b = uniform({out}, -bound, bound, gen).set_requires_grad();
  }
  Tensor operator()(const Tensor& x) const { return add(matmul(x, w), b); }
};

int run(const DemoOptions& o) {
  Generator gen(o.seed);
  auto [x, y] = spirals(o.points, gen);
  Linear l1(2, 64, gen), l2(64, 64, gen), l3(64, 2, gen);
  auto model = [&](const Tensor& in) { return l3(tanh(l2(tanh(l1(in))))); };
  std::vector<Tensor*> params{&l1.w, &l1.b, &l2.w, &l2.b, &l3.w, &l3.b};
  std::vector<Tensor> velocity;
  for (Tensor* p : params) velocity.push_back(zeros_like(*p));

  std::printf("detgrad demo: a 2-64-64-2 MLP learns two interleaved spirals (%d points), full-batch SGD "
              "with momentum 0.9, lr %.3g\n", o.points, o.lr);
  std::fflush(stdout);
  ProgressBar bar("train", o.steps, o.points, std::max(1, o.steps / 10));
  double first = 0, last = 0;
  for (int step = 1; step <= o.steps; ++step) {
    Tensor loss = cross_entropy(model(x), y);
    for (Tensor* p : params) p->zero_grad();
    loss.backward();
    {
      NoGradGuard ng;  // v = 0.9 v + g;  p -= lr v
      for (size_t i = 0; i < params.size(); ++i) {
        velocity[i] = add(mul(velocity[i], 0.9), params[i]->grad());
        Tensor updated = sub(*params[i], mul(velocity[i], o.lr));
        std::memcpy(params[i]->raw(), updated.raw(), updated.nbytes());
      }
    }
    last = loss.item();
    if (step == 1) first = last;
    bar.update(step, {{"loss", last}});
  }
  bar.finish();
  NoGradGuard ng;
  Tensor pred = argmax(model(x), 1);
  int correct = 0;
  for (int i = 0; i < o.points; ++i) correct += pred.at(i) == y.at(i);
  std::printf("loss %.4f -> %.4f, training accuracy %.1f%%\n\n", first, last, 100.0 * correct / o.points);

  // The decision regions as text: '.' class 0, ':' class 1; training points as 'o' and 'x'.
  const int W = 64, H = 28;
  std::vector<double> grid;
  for (int r = 0; r < H; ++r)
    for (int c = 0; c < W; ++c) {
      grid.push_back(-1.1 + 2.2 * (c + 0.5) / W);
      grid.push_back(1.1 - 2.2 * (r + 0.5) / H);
    }
  Tensor g = argmax(model(from_vector(grid, {W * H, 2})), 1);
  std::vector<std::string> canvas((size_t)H, std::string((size_t)W, ' '));
  for (int i = 0; i < W * H; ++i) canvas[(size_t)(i / W)][(size_t)(i % W)] = g.at(i) ? ':' : '.';
  for (int i = 0; i < o.points; ++i) {
    int c = (int)((x.at(2 * i) + 1.1) / 2.2 * W), r = (int)((1.1 - x.at(2 * i + 1)) / 2.2 * H);
    if (c >= 0 && c < W && r >= 0 && r < H) canvas[(size_t)r][(size_t)c] = y.at(i) ? 'x' : 'o';
  }
  for (auto& line : canvas) std::printf("  %s\n", line.c_str());
  std::printf("\n  '.' / ':' = regions the network assigns to class 0 / 1; 'o' / 'x' = training points\n");
  return correct * 10 >= o.points * 9 ? 0 : 2;
}
}  // namespace

std::function<int()> add_demo_command(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* c = app.add_subcommand("demo", "train a small network with the engine and show it working");
  c->add_option("--steps", o->steps, "training steps")->capture_default_str();
  c->add_option("--points", o->points, "number of 2-D points")->capture_default_str();
  c->add_option("--lr", o->lr, "learning rate")->capture_default_str();
  c->add_option("--seed", o->seed, "random seed")->capture_default_str();
  return [o] { return run(*o); };
}

}  // namespace dg::tools
