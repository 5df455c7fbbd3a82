// Tutorial 03: mixed precision, step by step (docs/mixed_precision.md is the text around it).
//
//   build/example_03_mixed_precision [--out runs/mixed_precision/scale.png] [--steps 200] [--growth-interval 20]
//
//   (a) the formats: a few numbers rounded to f16 and bf16, with their bits;
//   (b) underflow: a layer whose gradients are ~1e-8 -- zero in f16 without loss scaling, kept with it;
//   (c) overflow: an activation of 90000 is inf in f16 and finite (rounded) in bf16;
//   (d) dynamic loss scaling: a small regression net trained under autocast f16 with a GradScaler.
//       The scale starts at 2^16, the first steps overflow and are skipped (x0.5 each), then it grows
//       x2 every --growth-interval finite steps until it overflows again: a sawtooth. The scale and the
//       loss (with the f32 run's loss for comparison) are plotted to --out.
// Each part checks what it shows and the program exits with status 1 if it did not happen.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "autograd/amp/grad_scaler.h"
#include "autograd/autocast.h"
#include "autograd/generator.h"
#include "autograd/io/image.h"
#include "autograd/kernels/half.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "detectors/plot.h"

using namespace dg;

namespace {

int g_failures = 0;
void expect(bool ok, const char* what) {
  if (!ok) {
    std::printf("  !! expected: %s\n", what);
    ++g_failures;
  }
}

// "s eeeee mmmmmmmmmm" for f16 (5, 10) and "s eeeeeeee mmmmmmm" for bf16 (8, 7).
std::string bits(uint16_t b, int exp_bits, int mant_bits) {
  std::string s;
  for (int i = 15; i >= 0; --i) {
    s += ((b >> i) & 1) ? '1' : '0';
    if (i == 15 || i == mant_bits) s += ' ';
  }
  (void)exp_bits;
  return s;
}

// ---- (a) the formats ------------------------------------------------------------------------------
void part_formats() {
  std::printf("(a) the formats: value -> nearest f16 / bf16 (round to nearest, ties to even)\n");
  std::printf("  %-14s %-18s %-16s  %-18s %-16s\n", "f32 value", "f16 bits", "f16 value", "bf16 bits", "bf16 value");
  const float values[] = {1.0f, 0.1f, 1.0f / 3.0f, 3.14159265f, 1000.3f, 65504.0f, 65519.0f, 65520.0f, 1e-5f, 3e-8f};
  for (float v : values) {
    const uint16_t h = kernels::f32_to_f16(v), b = kernels::f32_to_bf16(v);
    std::printf("  %-14.8g %s %-16.10g  %s %-16.10g\n", v, bits(h, 5, 10).c_str(), kernels::f16_to_f32(h),
                bits(b, 8, 7).c_str(), kernels::bf16_to_f32(b));
  }
  expect(kernels::f16_to_f32(kernels::f32_to_f16(65519.0f)) == 65504.0f, "65519 rounds down to 65504 in f16");
  expect(std::isinf(kernels::f16_to_f32(kernels::f32_to_f16(65520.0f))), "65520 rounds up to inf in f16");
  expect(kernels::f16_to_f32(kernels::f32_to_f16(3e-8f)) == std::ldexp(1.0f, -24),
         "3e-8 rounds to the smallest f16 subnormal 2^-24");
  std::printf(
      "  f16: 10 mantissa bits (3.3 decimal digits), max 65504, smallest subnormal 2^-24 = 5.96e-8\n"
      "  bf16: 7 mantissa bits (2.4 digits), the exponent range of f32 (max 3.39e38)\n\n");
}

// ---- (b) underflow --------------------------------------------------------------------------------
// h = x W^T is an f16 activation (autocast linear); loss = 3e-7 * mean(h) gives dloss/dh = 3e-7 / 32
// ~ 9.4e-9 per element: below half the smallest f16 subnormal (2.98e-8), so it rounds to 0 when the
// backward pass casts it to h's dtype -- and W (f32) gets a zero gradient. Scaled by S = 2^16 it is
// 6.1e-4, comfortably inside f16; dividing W's f32 gradient by S afterwards gives the true value back.
void part_underflow() {
  std::printf("(b) underflow: an f16 activation whose gradient is ~9.4e-9\n");
  Generator gen(1);
  Tensor x = randn({4, 8}, gen);
  Tensor w = mul(randn({8, 8}, gen), 0.3).detach().set_requires_grad(true);
  auto grad_w = [&](bool autocast, double scale) {
    w.zero_grad();
    Tensor loss;
    {
      amp::Autocast ac(DType::f16, autocast);
      loss = mul(mean(linear(x, w)), 3e-7);
    }
    mul(loss, scale).backward();
    return mul(w.grad(), 1.0 / scale).detach();  // unscale (exact: S is a power of two)
  };
  const Tensor ref = grad_w(false, 1.0), plain = grad_w(true, 1.0), scaled = grad_w(true, 65536.0);
  auto max_abs = [](const Tensor& t) {
    double m = 0;
    for (double v : t.to_vector()) m = std::max(m, std::fabs(v));
    return m;
  };
  auto max_rel = [&](const Tensor& a) {
    auto va = a.to_vector(), vr = ref.to_vector();
    double m = 0;
    for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::fabs(va[i] - vr[i]) / std::fabs(vr[i]));
    return m;
  };
  std::printf("  W.grad[0,0]  f32: %.6e   f16 unscaled: %.6e   f16 with S = 65536: %.6e\n", ref.at(0), plain.at(0),
              scaled.at(0));
  std::printf("  max |W.grad|: f32 %.3e, f16 unscaled %.3e (all lost), f16 scaled %.3e (max rel. error %.1e)\n\n",
              max_abs(ref), max_abs(plain), max_abs(scaled), max_rel(scaled));
  expect(max_abs(plain) == 0.0, "without scaling every gradient underflows to 0");
  expect(max_rel(scaled) < 2e-3, "with scaling the gradients match f32 to f16 precision");
}

// ---- (c) overflow ---------------------------------------------------------------------------------
void part_overflow() {
  std::printf("(c) overflow: an activation of 300 * 300 = 90000 (matmul under autocast)\n");
  Tensor a = full({1, 1}, 300.0), b = full({1, 1}, 300.0);
  double out[2];
  const DType types[] = {DType::f16, DType::bf16};
  for (int i = 0; i < 2; ++i) {
    amp::Autocast ac(types[i]);
    Tensor y = matmul(a, b);
    out[i] = y.item();
    // softmax is an f32 op, but the inf is already there: exp(inf - inf) = NaN
    Tensor p = softmax(cat({y, zeros({1, 1}).to(types[i])}, 1), 1);
    std::printf("  %-4s: 300 * 300 = %g, softmax([that, 0]) = [%g, %g]\n", dtype_name(types[i]), out[i], p.at(0),
                p.at(1));
  }
  std::printf("  f16 tops out at 65504; bf16 keeps f32's range but rounds 90000 to 8 significant bits\n\n");
  expect(std::isinf(out[0]), "f16 overflows to inf");
  expect(out[1] == 90112.0, "bf16 rounds 90000 to 90112");
}

// ---- (d) dynamic loss scaling over a training run -------------------------------------------------
// A 16 -> 32 -> 32 -> 1 regression MLP on a fixed random batch of 64, loss = mean squared error.
// At the start the gradients are large (the output is far from the target): S * gradient overflows
// f16 until S is small enough. As the loss falls the gradients shrink and S can grow again.
struct Mlp {
  Tensor w1, b1, w2, b2, w3, b3;
  explicit Mlp(Generator& gen) {
    auto init = [&](int64_t out, int64_t in) {
      return mul(randn({out, in}, gen), 1.0 / std::sqrt((double)in)).detach().set_requires_grad(true);
    };
    w1 = init(32, 16), b1 = zeros({32}).set_requires_grad(true);
    w2 = init(32, 32), b2 = zeros({32}).set_requires_grad(true);
    w3 = init(1, 32), b3 = zeros({1}).set_requires_grad(true);
  }
  std::vector<Tensor> params() const { return {w1, b1, w2, b2, w3, b3}; }
  Tensor forward(const Tensor& x) const { return linear(relu(linear(relu(linear(x, w1, b1)), w2, b2)), w3, b3); }
};

struct Curve {
  std::vector<double> step, scale, loss;
  std::vector<double> skipped_step, skipped_scale;
};

Curve train(bool amp_on, int steps, int64_t growth_interval) {
  Generator gen(3);
  Tensor x = randn({64, 16}, gen);
  Tensor y = sum(mul(x, x), {1}, true);  // target |x|^2: [64, 1], values ~16
  Mlp net(gen);
  optim::AdamOptions ao;
  ao.lr = 3e-3;
  optim::Adam opt(net.params(), ao);
  amp::GradScaler scaler({.growth_interval = growth_interval, .enabled = amp_on});
  Curve c;
  for (int s = 0; s < steps; ++s) {
    Tensor loss;
    {
      amp::Autocast ac(DType::f16, amp_on);
      loss = mse_loss(net.forward(x), y, Reduction::mean);
    }
    opt.zero_grad();
    const double scale = scaler.scale();
    scaler.scale(loss).backward();
    const bool stepped = scaler.step(opt);
    scaler.update();
    c.step.push_back(s);
    c.scale.push_back(scale);
    c.loss.push_back(loss.item());
    if (!stepped) c.skipped_step.push_back(s), c.skipped_scale.push_back(scale);
  }
  return c;
}

void part_scaling(int steps, int64_t growth_interval, const std::string& out) {
  std::printf(
      "(d) dynamic loss scaling: %d steps of a 16-32-32-1 MLP, mean squared error, Adam,\n"
      "    GradScaler(init 65536, x2 after %lld finite steps, x0.5 and skip on inf/NaN)\n",
      steps, (long long)growth_interval);
  const Curve f32 = train(false, steps, growth_interval), f16 = train(true, steps, growth_interval);
  std::printf("  %5s  %9s  %-8s  %12s  %12s\n", "step", "scale", "stepped", "loss (f16)", "loss (f32)");
  size_t k = 0;
  for (int s = 0; s < steps; ++s) {
    const bool skip = k < f16.skipped_step.size() && f16.skipped_step[k] == s;
    if (skip) ++k;
    const bool changed = s > 0 && f16.scale[(size_t)s] != f16.scale[(size_t)s - 1];
    if (s < 8 || skip || changed || s == steps - 1)
      std::printf("  %5d  %9g  %-8s  %12.4f  %12.4f\n", s, f16.scale[(size_t)s], skip ? "skipped" : "yes",
                  f16.loss[(size_t)s], f32.loss[(size_t)s]);
  }
  const size_t first_ok = [&] {
    size_t i = 0;
    while (i < f16.skipped_step.size() && f16.skipped_step[i] == (double)i) ++i;
    return i;
  }();
  std::printf("  %zu skipped steps at the start (65536 -> %g), %zu skipped later (overflow after growth)\n", first_ok,
              f16.scale[first_ok], f16.skipped_step.size() - first_ok);
  std::printf("  final loss: f16 + scaling %.4f, f32 %.4f\n", f16.loss.back(), f32.loss.back());
  expect(first_ok >= 1, "the first steps from 2^16 overflow and are skipped");
  expect(f16.skipped_step.size() > first_ok, "the scale grows until it overflows again");
  expect(f16.loss.back() < 0.2 * f16.loss.front(), "training under f16 + loss scaling makes progress");

  plot::PlotOptions po;
  po.title = "loss scale (f16 autocast + GradScaler)";
  po.xlabel = "step";
  po.ylabel = "scale";
  po.log_y = true;
  plot::Series scale_s{"scale", f16.step, f16.scale};
  scale_s.color = Rgb{40, 90, 200};
  // skipped steps as dots: a NaN after each point leaves no line between them
  plot::Series skip_dots{"skipped step"};
  for (size_t i = 0; i < f16.skipped_step.size(); ++i) {
    skip_dots.x.push_back(f16.skipped_step[i]);
    skip_dots.y.push_back(f16.skipped_scale[i]);
    skip_dots.x.push_back(NAN);
    skip_dots.y.push_back(NAN);
  }
  skip_dots.points = true;
  skip_dots.color = Rgb{220, 40, 40};
  Tensor p1 = plot::line_plot({scale_s, skip_dots}, po);
  plot::PlotOptions pl;
  pl.title = "training loss (mean squared error)";
  pl.xlabel = "step";
  pl.ylabel = "loss";
  pl.log_y = true;
  Tensor p2 = plot::line_plot(
      {plot::Series{"f16 + loss scaling", f16.step, f16.loss}, plot::Series{"f32", f32.step, f32.loss}}, pl);
  const std::filesystem::path path(out);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  io::save_png(out, plot::tile_plots({p1, p2}, 1));
  std::printf("  wrote %s\n", out.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = "runs/mixed_precision/scale.png";
  int steps = 200;
  int64_t growth_interval = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 < argc && k == "--out") out = argv[++i];
    else if (i + 1 < argc && k == "--steps") steps = std::atoi(argv[++i]);
    else if (i + 1 < argc && k == "--growth-interval") growth_interval = std::atoll(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--out FILE.png] [--steps N] [--growth-interval N]\n", argv[0]);
      return k == "--help" || k == "-h" ? 0 : 2;
    }
  }
  if (steps < 10 || growth_interval < 1) {
    std::fprintf(stderr, "--steps must be >= 10 and --growth-interval >= 1\n");
    return 2;
  }
  try {
    part_formats();
    part_underflow();
    part_overflow();
    part_scaling(steps, growth_interval, out);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  if (g_failures) {
    std::printf("%d expectation(s) failed\n", g_failures);
    return 1;
  }
  std::printf("all expectations met\n");
  return 0;
}
