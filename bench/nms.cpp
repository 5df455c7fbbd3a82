// `detgrad bench nms`: detgrad's hard NMS (detectors/nms.h) against torchvision.ops.nms on the same
// boxes in the same run. The boxes are written as .npy to a temporary folder, bench/bench_nms_torch.py
// is run through /usr/bin/python3 (if that python has torchvision), and its kept indices are compared
// with ours: the line says whether the two results are identical.
//
// The scene: N boxes in a 1000 x 1000 image, centres uniform, sides uniform in [8, 128), scores
// uniform in [0, 1) (distinct: a 64-bit LCG), f32 -- roughly a detector's raw output before NMS.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "autograd/io/tensor_npy.h"
#include "bench/bench.h"
#include "bench/reference.h"
#include "detectors/nms.h"

namespace dg::bench {

namespace {
struct Scene {
  Tensor boxes, scores;
};

Scene make_scene(int n, uint64_t seed) {
  std::vector<double> b, s;
  b.reserve(4 * (size_t)n), s.reserve((size_t)n);
  uint64_t st = seed;
  auto u = [&] {
    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
    return double(st >> 11) / double(1ULL << 53);
  };
  for (int i = 0; i < n; ++i) {
    const double cx = 1000 * u(), cy = 1000 * u(), w = 8 + 120 * u(), h = 8 + 120 * u();
    b.insert(b.end(), {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2});
    s.push_back(u());
  }
  return {from_vector(b, {n, 4}, DType::f32), from_vector(s, {n}, DType::f32)};
}

template <class F>
double best_seconds(int repeat, F&& f) {
  f();
  double best = 1e300;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// The python script next to this source file (CMake compiles with absolute paths).
std::string torch_script() { return (std::filesystem::path(__FILE__).parent_path() / "bench_nms_torch.py").string(); }

// Runs the script; returns its JSON line (empty object if python/torchvision is missing or it failed).
nlohmann::json run_torch(const std::string& boxes, const std::string& scores, const std::string& keep_out, double iou,
                         int repeat) {
  if (access("/usr/bin/python3", X_OK) != 0 || !std::filesystem::exists(torch_script()))
    return nlohmann::json::object();
  char cmd[4096];
  std::snprintf(cmd, sizeof cmd,
                "/usr/bin/python3 '%s' --boxes '%s' --scores '%s' --keep-out '%s' --iou %g --repeat %d 2>/dev/null",
                torch_script().c_str(), boxes.c_str(), scores.c_str(), keep_out.c_str(), iou, repeat);
  nlohmann::json r = run_json_command(cmd);
  return r.is_null() ? nlohmann::json::object() : r;
}

double round_to(double x, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}
}  // namespace

int run_nms_bench(const NmsBenchOptions& opt) {
  check(!opt.sizes.empty(), "bench nms: need at least one size");
  for (int n : opt.sizes) check(n > 0, "bench nms: sizes must be positive, got ", n);
  check(opt.repeat >= 1, "bench nms: repeat must be >= 1, got ", opt.repeat);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("detgrad_bench_nms_" + std::to_string((long long)getpid()));
  std::filesystem::create_directories(dir);
  for (int n : opt.sizes) {
    Scene sc = make_scene(n, 1234 + (uint64_t)n);
    Tensor keep;
    const double t_dg = best_seconds(opt.repeat, [&] { keep = nms(sc.boxes, sc.scores, opt.iou_threshold); });
    nlohmann::ordered_json out;
    out["bench"] = "nms";
    out["boxes"] = n;
    out["iou_threshold"] = opt.iou_threshold;
    out["dtype"] = "f32";
    out["kept"] = keep.numel();
    out["detgrad_ms"] = round_to(t_dg * 1e3, 3);
    nlohmann::json ref;
    if (opt.torch) {
      const std::string b = (dir / "boxes.npy").string(), s = (dir / "scores.npy").string(),
                        k = (dir / "keep.npy").string();
      io::save_npy(b, sc.boxes);
      io::save_npy(s, sc.scores);
      ref = run_torch(b, s, k, opt.iou_threshold, opt.repeat);
      if (ref.contains("seconds")) {
        const Tensor tk = io::load_npy(k);
        out["torchvision_ms"] = round_to(ref["seconds"].get<double>() * 1e3, 3);
        out["torchvision_threads"] = ref["threads"];
        out["ratio"] = round_to(ref["seconds"].get<double>() / t_dg, 3);  // > 1: detgrad faster
        out["same_result"] = tk.to_vector() == keep.to_vector();
      }
    }
    if (!ref.contains("seconds"))
      out["reference"] = opt.torch ? "none (needs /usr/bin/python3 with torchvision)" : "none (--no-torch)";
    std::printf("%s\n", out.dump().c_str());
    std::fflush(stdout);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}

}  // namespace dg::bench
