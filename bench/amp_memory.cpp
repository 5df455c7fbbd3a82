// Peak tensor-storage memory of one CenterNet x0.25 training step (forward, backward, Adam) in four
// precision modes, counted by memory_stats() (autograd/memory.h):
//   f32            f32 weights, f32 activations
//   autocast-f16   f32 weights; inside dg::amp::Autocast(f16) convs round their inputs and store f16 outputs
//   autocast-bf16  the same with bf16
//   f16-weights    the conv and transposed-conv weights (every 4-D parameter, 99% of the parameters)
//                  held in f16, run under Autocast(f16); f32 master copies of all parameters carry the
//                  Adam step (the optimizers refuse half parameters) and the updated masters are rounded
//                  back into the f16 weights (Micikevicius et al. 2018's recipe). BatchNorm's affine
//                  parameters and running statistics stay f32 (batch_norm refuses half statistics).
// Each mode builds a fresh model from the same seed, runs one warm-up step (so Adam's moment buffers
// exist: the steady state of training), then measures the second step:
//   resident  bytes alive before the step: weights, Adam state, master copies, the input batch
//   forward   peak from the start of the step to the end of the loss: resident + saved activations
//   step      peak over forward + backward + optimizer step
// The loss is the mean of squares of the three heads (in f32), which exercises the same graph as the
// real loss without needing targets.
#include "bench/amp_memory.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "autograd/autocast.h"
#include "autograd/generator.h"
#include "autograd/graph.h"
#include "autograd/kernels/half.h"
#include "autograd/memory.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "detectors/centernet/detector.h"

namespace dg::bench {

namespace {

struct AmpMemoryOptions {
  int64_t batch = 32, size = 96, classes = 10;
  uint64_t seed = 0;
};

struct Figures {
  int64_t resident = 0, forward = 0, step = 0;
};

double mib(int64_t b) { return double(b) / (1024.0 * 1024.0); }

Tensor squares(const Tensor& t) {
  Tensor f = t.to(DType::f32);
  return mean(mul(f, f));
}

// One training step; `low` = autocast dtype (none: f32). With masters, the model's (f16) gradients are
// widened into the masters' .grad, Adam steps the masters, and the model weights get them rounded.
void train_step(centernet::CenterNet& model, optim::Adam& adam, const Tensor& x, std::optional<DType> low,
                std::vector<Tensor>& masters, Figures* fig) {
  adam.zero_grad();
  model.zero_grad();
  if (fig) {
    reset_peak_memory();
    fig->resident = memory_stats().current_bytes;
  }
  Tensor loss;
  {
    std::optional<amp::Autocast> scope;
    if (low) scope.emplace(*low);
    centernet::CenterNetOutput out = model.forward_heads(x);
    loss = add(add(squares(out.heatmap), squares(out.wh)), squares(out.offset));
  }
  if (fig) fig->forward = memory_stats().peak_bytes;
  loss.backward();
  if (!masters.empty()) {
    std::vector<Tensor> params = model.parameters();
    for (size_t k = 0; k < params.size(); ++k) {
      if (params[k].grad().defined()) masters[k].set_grad(params[k].grad().to(DType::f32));
    }
    model.zero_grad();  // the f16 gradients are no longer needed
  }
  adam.step();
  if (!masters.empty()) {
    std::vector<Tensor> params = model.parameters();
    for (size_t k = 0; k < params.size(); ++k) {
      if (params[k].dtype() == DType::f16)
        kernels::convert_f32_to_f16(masters[k].data<float>(), static_cast<uint16_t*>(params[k].raw()),
                                    params[k].numel());
      else std::memcpy(params[k].raw(), masters[k].raw(), masters[k].nbytes());
    }
  }
  if (fig) fig->step = memory_stats().peak_bytes;
}

Figures measure(const AmpMemoryOptions& o, const std::string& mode) {
  Generator gen(o.seed);
  auto model = std::make_shared<centernet::CenterNetDetector>(centernet::CenterNetConfig::cpu(o.classes), gen);
  model->train();
  std::optional<DType> low;
  if (mode != "f32") low = mode == "autocast-bf16" ? DType::bf16 : DType::f16;
  std::vector<Tensor> masters;
  if (mode == "f16-weights") {
    NoGradGuard ng;
    for (Tensor& p : model->parameters()) {
      masters.push_back(p.contiguous_copy_no_grad().set_requires_grad(true));
      if (p.dim() != 4) continue;
      // In place, as Module::to does: the model keeps the same parameter handles, now f16.
      Tensor h = p.detach().to(DType::f16);
      p.impl()->storage = h.impl()->storage;
      p.impl()->dtype = DType::f16;
    }
  }
  optim::AdamOptions ao;
  ao.lr = 1e-4;
  optim::Adam adam(masters.empty() ? model->parameters() : masters, ao);
  Generator data_gen(o.seed + 1);
  const Tensor x = randn({o.batch, 3, o.size, o.size}, data_gen);
  train_step(*model, adam, x, low, masters, nullptr);  // warm-up: creates Adam's buffers
  Figures f;
  train_step(*model, adam, x, low, masters, &f);
  return f;
}

AmpMemoryOptions parse(int argc, char** argv) {
  AmpMemoryOptions o;
  for (int k = 0; k < argc; ++k) {
    const std::string a = argv[k];
    check(k + 1 < argc, "bench amp-memory: ", a, " needs a value");
    const char* v = argv[++k];
    if (a == "--batch") o.batch = std::atoll(v);
    else if (a == "--size") o.size = std::atoll(v);
    else if (a == "--classes") o.classes = std::atoll(v);
    else if (a == "--seed") o.seed = std::strtoull(v, nullptr, 10);
    else fail("bench amp-memory: unknown option '", a, "' (--batch, --size, --classes, --seed)");
  }
  check(o.batch >= 1 && o.size >= 32 && o.size % 32 == 0 && o.classes >= 1,
        "bench amp-memory: need --batch >= 1, --size a multiple of 32, --classes >= 1");
  return o;
}

}  // namespace

int bench_amp_memory(int argc, char** argv) {
  try {
    const AmpMemoryOptions o = parse(argc, argv);
    const std::vector<std::string> modes = {"f32", "autocast-f16", "autocast-bf16", "f16-weights"};
    std::vector<Figures> figs;
    for (const std::string& m : modes) {
      figs.push_back(measure(o, m));
      const Figures& f = figs.back();
      std::printf(
          "{\"bench\": \"amp-memory\", \"model\": \"centernet-cpu\", \"batch\": %lld, \"size\": %lld, \"mode\": "
          "\"%s\", "
          "\"resident_bytes\": %lld, \"forward_peak_bytes\": %lld, \"step_peak_bytes\": %lld, \"ratio_to_f32\": "
          "%.3f}\n",
          (long long)o.batch, (long long)o.size, m.c_str(), (long long)f.resident, (long long)f.forward,
          (long long)f.step, double(f.step) / double(figs[0].step));
    }
    std::printf("\n%-14s %12s %12s %12s %8s\n", "mode", "resident MiB", "forward MiB", "step MiB", "vs f32");
    for (size_t k = 0; k < modes.size(); ++k)
      std::printf("%-14s %12.2f %12.2f %12.2f %8.3f\n", modes[k].c_str(), mib(figs[k].resident), mib(figs[k].forward),
                  mib(figs[k].step), double(figs[k].step) / double(figs[0].step));
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace dg::bench
