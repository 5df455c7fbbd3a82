// `detgrad bench resnet18`: a whole network, the sum of every kernel.
//   forward   1x3x224x224, eval mode, no graph                       (inference latency)
//   train     8x3x128x128, train mode: forward + cross-entropy + backward (one training step
//             without the optimiser update, which is the same small cost in both engines)
// Times are the best of --repeat runs after one warm-up. Memory: the peak resident set (VmHWM of
// /proc/self/status) of each phase, reset before it through /proc/self/clear_refs (after malloc_trim, so
// that pages the allocator cached from model construction do not hide the phase's use), reported as the
// peak and as the growth over the resident set at the start of the phase (the engine's own working
// memory: activations, gradients, im2col buffers).
// Right after, bench/bench_resnet18_torch.py does the same with torchvision's resnet18 at the same
// thread count (same run, so both see the same machine load); ratio = torch_ms / detgrad_ms (above
// 1: detgrad faster), mem_ratio = detgrad growth / torch growth.
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "autograd/kernels/cpu.h"
#include "autograd/ops.h"
#include "bench/bench.h"
#include "bench/reference.h"
#include "layers/resnet.h"

namespace dg::bench {

namespace {
template <class F>
double best_ms(int repeat, F&& f) {
  f();
  double best = 1e300;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// A field of /proc/self/status in MB (VmHWM, VmRSS), or -1.
double status_mb(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      std::istringstream is(line.substr(field.size() + 1));
      double kb = 0;
      is >> kb;
      return kb / 1024.0;
    }
  }
  return -1;
}

// Returns freed heap pages to the system (so the resident set counts live memory only), then
// resets VmHWM to the current RSS (Linux >= 4.0: "5" to clear_refs).
void reset_peak() {
  malloc_trim(0);
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
}

double round_to(double v, int digits) {
  double p = 1;
  for (int i = 0; i < digits; ++i) p *= 10;
  return std::round(v * p) / p;
}

nlohmann::json run_torch(int threads, const Resnet18BenchOptions& opt) {
  const std::filesystem::path script = std::filesystem::path(__FILE__).parent_path() / "bench_resnet18_torch.py";
  if (!std::filesystem::exists("/usr/bin/python3") || !std::filesystem::exists(script)) return nullptr;
  std::ostringstream cmd;
  cmd << "/usr/bin/python3 '" << script.string() << "' --threads " << threads << " --repeat " << opt.repeat
      << " --train-batch " << opt.train_batch << " --train-size " << opt.train_size << " --size " << opt.size
      << " 2>/dev/null";
  return run_json_command(cmd.str());
}
}  // namespace

int run_resnet18_bench(const Resnet18BenchOptions& opt) {
  check(opt.repeat >= 1 && opt.threads >= 0 && opt.train_batch >= 1 && opt.size >= 32 && opt.train_size >= 32,
        "bench resnet18: need repeat >= 1, threads >= 0, train-batch >= 1, sizes >= 32");
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  const int threads = opt.threads > 0 ? opt.threads : omp_get_max_threads();
  Generator gen(0);
  auto model = nn::resnet18(gen);

  // Forward, eval mode, no graph.
  model->eval();
  Tensor x = randn({1, 3, opt.size, opt.size}, gen);
  reset_peak();
  const double fwd_base = status_mb("VmRSS");
  const double fwd_ms = best_ms(opt.repeat, [&] {
    NoGradGuard ng;
    (*model)(x);
  });
  const double fwd_peak = status_mb("VmHWM");

  // Training step: forward + cross-entropy + backward.
  model->train();
  Tensor xb = randn({opt.train_batch, 3, opt.train_size, opt.train_size}, gen);
  Tensor target = randint({opt.train_batch}, 0, 1000, gen);
  reset_peak();
  const double train_base = status_mb("VmRSS");
  const double train_ms = best_ms(opt.repeat, [&] {
    model->zero_grad();
    cross_entropy((*model)(xb), target).backward();
  });
  const double train_peak = status_mb("VmHWM");

  nlohmann::ordered_json out;
  out["bench"] = "resnet18";
  out["threads"] = threads;
  out["isa"] = kernels::isa_name();
  out["forward"] = "1x3x" + std::to_string(opt.size) + "x" + std::to_string(opt.size);
  out["train"] = std::to_string(opt.train_batch) + "x3x" + std::to_string(opt.train_size) + "x" +
                 std::to_string(opt.train_size);
  out["fwd_ms"] = round_to(fwd_ms, 2);
  out["train_ms"] = round_to(train_ms, 2);
  out["fwd_peak_mb"] = round_to(fwd_peak, 1);
  out["fwd_growth_mb"] = round_to(fwd_peak - fwd_base, 1);
  out["train_peak_mb"] = round_to(train_peak, 1);
  out["train_growth_mb"] = round_to(train_peak - train_base, 1);
  nlohmann::json t = opt.torch ? run_torch(threads, opt) : nlohmann::json(nullptr);
  if (t.is_object()) {
    out["torch_fwd_ms"] = t["fwd_ms"];
    out["torch_train_ms"] = t["train_ms"];
    out["torch_train_growth_mb"] = t["train_growth_mb"];
    out["ratio_fwd"] = round_to(t["fwd_ms"].get<double>() / fwd_ms, 3);
    out["ratio_train"] = round_to(t["train_ms"].get<double>() / train_ms, 3);
    const double tg = t["train_growth_mb"].get<double>();
    if (tg > 0) out["mem_ratio_train"] = round_to((train_peak - train_base) / tg, 3);
  } else {
    out["reference"] = opt.torch ? "unavailable (/usr/bin/python3 with torch not found)" : "off";
  }
  std::printf("%s\n", out.dump().c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace dg::bench
