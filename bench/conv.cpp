// `detgrad bench conv`: GFLOP/s of conv2d (f32) forward and forward+backward on ResNet-18-like
// shapes, and PyTorch's figures on the same shapes from the same run.
//
// FLOPs per pass: 2*N*O*Ho*Wo*(C/groups)*k*k; forward+backward counts 3 passes (forward, input
// gradient, weight gradient), as is customary. The backward computes all of dx, dw and db (every
// input requires grad, in PyTorch too).
//
// After measuring a shape, the bench runs bench/bench_conv_torch.py for that same shape with
// /usr/bin/python3 (the one with torch) and the same thread count, so that the two figures come
// from the same minute of a possibly busy machine; ratio = detgrad / torch (above 1: detgrad faster).
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "autograd/error.h"
#include "autograd/kernels/cpu.h"
#include "autograd/kernels/im2col.h"
#include "autograd/ops.h"
#include "bench/bench.h"
#include "bench/reference.h"

namespace dg::bench {

namespace {

struct ConvShape {
  std::string name;
  int64_t N, C, H, W, O, k, stride, pad, groups;
};

// The same presets, names and order as bench/bench_conv_torch.py.
const std::vector<std::pair<std::string, std::string>> kPresets = {
    {"resnet_64x56", "8,64,56,56,64,3,1,1,1"},       {"resnet_128x28", "8,128,28,28,128,3,1,1,1"},
    {"resnet_256x14", "8,256,14,14,256,3,1,1,1"},    {"resnet_512x7", "8,512,7,7,512,3,1,1,1"},
    {"stem_7x7s2", "8,3,224,224,64,7,2,3,1"},        {"depthwise_128x28", "8,128,28,28,128,3,1,1,128"},
    {"pointwise_256x14", "8,256,14,14,256,1,1,0,1"},
};

ConvShape parse_shape(const std::string& arg) {
  std::string spec = arg, name = "custom";
  for (auto& [n, s] : kPresets)
    if (n == arg) spec = s, name = n;
  std::vector<int64_t> v;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    long long x = std::strtoll(item.c_str(), &end, 10);
    check(!item.empty() && *end == 0, "bench conv: --shape '", arg,
          "' is neither a preset nor N,C,H,W,O,k,stride,pad,groups");
    v.push_back(x);
  }
  check(v.size() == 9, "bench conv: --shape '", arg, "' needs 9 numbers N,C,H,W,O,k,stride,pad,groups, got ", v.size());
  return {name, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]};
}

// Seconds on the wall clock, or of CPU time used by the process (all threads): with one thread
// the CPU clock does not count the time the OS gives to other processes.
double now(bool cpu) {
  if (!cpu) return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

template <class F>
double best_seconds(int repeat, bool cpu, F&& f) {
  f();
  double best = 1e300;
  for (int r = 0; r < repeat; ++r) {
    const double t0 = now(cpu);
    f();
    best = std::min(best, now(cpu) - t0);
  }
  return best;
}

double round_to(double x, int digits) {
  const double s = std::pow(10.0, digits);
  return std::round(x * s) / s;
}

// The torch script's JSON line for one shape, or null if python/torch is unavailable.
nlohmann::json run_torch(const ConvShape& s, int threads, int repeat, const std::string& clock) {
  const std::filesystem::path script = std::filesystem::path(__FILE__).parent_path() / "bench_conv_torch.py";
  if (!std::filesystem::exists("/usr/bin/python3") || !std::filesystem::exists(script)) return nullptr;
  std::ostringstream cmd;
  cmd << "/usr/bin/python3 '" << script.string() << "' --threads " << threads << " --repeat " << repeat << " --clock "
      << clock << " --name " << s.name << " --shape " << s.N << "," << s.C << "," << s.H << "," << s.W << "," << s.O
      << "," << s.k << "," << s.stride << "," << s.pad << "," << s.groups << " 2>/dev/null";
  return run_json_command(cmd.str());
}

}  // namespace

int run_conv_bench(const ConvBenchOptions& opt) {
  check(opt.repeat >= 1, "bench conv: repeat must be >= 1, got ", opt.repeat);
  check(opt.threads >= 0, "bench conv: threads must be >= 0, got ", opt.threads);
  check(opt.clock == "wall" || opt.clock == "cpu", "bench conv: --clock must be wall or cpu, got '", opt.clock, "'");
  const bool cpu = opt.clock == "cpu";
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  const int threads = opt.threads > 0 ? opt.threads : omp_get_max_threads();
  std::vector<ConvShape> shapes;
  if (opt.shapes.empty())
    for (auto& [n, s] : kPresets) shapes.push_back(parse_shape(n));
  else
    for (const std::string& a : opt.shapes) shapes.push_back(parse_shape(a));

  for (const ConvShape& s : shapes) {
    check(s.N > 0 && s.C > 0 && s.H > 0 && s.W > 0 && s.O > 0 && s.k > 0 && s.stride > 0 && s.pad >= 0 &&
              s.groups > 0 && s.C % s.groups == 0 && s.O % s.groups == 0,
          "bench conv: invalid shape ", s.name);
    Generator gen(0);
    Tensor x = randn({s.N, s.C, s.H, s.W}, gen).set_requires_grad();
    Tensor w = mul(randn({s.O, s.C / s.groups, s.k, s.k}, gen), 0.1).detach().set_requires_grad();
    Tensor b = randn({s.O}, gen).set_requires_grad();
    const int64_t Ho = kernels::conv_out_size(s.H, s.k, s.stride, s.pad, 1);
    const int64_t Wo = kernels::conv_out_size(s.W, s.k, s.stride, s.pad, 1);
    Tensor gout = randn({s.N, s.O, Ho, Wo}, gen);
    const double flops = 2.0 * double(s.N * s.O * Ho * Wo) * double(s.C / s.groups * s.k * s.k);

    const double t_f = best_seconds(opt.repeat, cpu, [&] {
      NoGradGuard ng;
      conv2d(x, w, b, s.stride, s.pad, 1, s.groups);
    });
    const double t_fb = best_seconds(opt.repeat, cpu, [&] {
      x.zero_grad(), w.zero_grad(), b.zero_grad();
      conv2d(x, w, b, s.stride, s.pad, 1, s.groups).backward(gout);
    });

    nlohmann::ordered_json out;
    out["bench"] = "conv";
    out["name"] = s.name;
    out["shape"] = {{"N", s.N}, {"C", s.C},           {"H", s.H},     {"W", s.W},          {"O", s.O},
                    {"k", s.k}, {"stride", s.stride}, {"pad", s.pad}, {"groups", s.groups}};
    out["threads"] = threads;
    out["clock"] = opt.clock;
    out["isa"] = kernels::isa_name();
    out["fwd_ms"] = round_to(t_f * 1e3, 3);
    out["fwd_bwd_ms"] = round_to(t_fb * 1e3, 3);
    out["detgrad_fwd_gflops"] = round_to(flops / t_f * 1e-9, 2);
    out["detgrad_fwd_bwd_gflops"] = round_to(3 * flops / t_fb * 1e-9, 2);
    nlohmann::json t = opt.torch ? run_torch(s, threads, opt.repeat, opt.clock) : nlohmann::json(nullptr);
    if (t.is_object()) {
      out["torch_fwd_gflops"] = t["fwd_gflops"];
      out["torch_fwd_bwd_gflops"] = t["fwd_bwd_gflops"];
      out["ratio_fwd"] = round_to(t["fwd_ms"].get<double>() / (t_f * 1e3), 3);
      out["ratio_fwd_bwd"] = round_to(t["fwd_bwd_ms"].get<double>() / (t_fb * 1e3), 3);
    } else {
      out["reference"] = opt.torch ? "unavailable (/usr/bin/python3 with torch not found)" : "off";
    }
    std::printf("%s\n", out.dump().c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace dg::bench
