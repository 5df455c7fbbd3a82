// `detgrad bench gemm`: GFLOP/s of detgrad's sgemm for C = A @ B (row-major, no transposes) and,
// when built with OpenBLAS, of cblas_sgemm on the same matrices in the same run.
//
// The reference is OpenBLAS restricted to the instruction set of detgrad's micro-kernel:
//   isa avx2 (or scalar)  OPENBLAS_CORETYPE=Haswell   OpenBLAS's AVX2/FMA kernels
//   isa avx512            OPENBLAS_CORETYPE=SkylakeX  OpenBLAS's AVX-512 kernels
// (OpenBLAS 0.3.21 does not know Zen 5 and picks Haswell on its own, so "native" would not be an
// AVX-512 comparison.) OpenBLAS reads that variable once, when the library is loaded, so if it is
// unset we set it and re-execute this process (/proc/self/exe with the same argv); an explicit
// value set by the user is respected and reported. Use DETGRAD_ISA=avx2 for the AVX2 comparison.
#include "autograd/kernels/gemm.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "autograd/kernels/cpu.h"
#include "bench/bench.h"

#ifdef DETGRAD_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace dg::bench {

namespace {

// Uniform values in [-1, 1) from a fixed-seed 64-bit LCG: the same matrices on every run and
// standard library.
std::vector<float> random_matrix(int64_t count, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(count));
  uint64_t s = seed;
  for (float& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<float>(static_cast<double>(s >> 40) / double(1 << 24) * 2.0 - 1.0);
  }
  return v;
}

// Best wall time in seconds of `repeat` runs of f, after one untimed warm-up run.
template <class F>
double best_seconds(int repeat, F&& f) {
  f();
  double best = 1e300;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return best;
}

// x rounded to `digits` decimals (dividing by a power of ten gives the double nearest the decimal).
double round_to(double x, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

#ifdef DETGRAD_HAVE_OPENBLAS
// Sets OPENBLAS_CORETYPE=core and replaces this process with a fresh copy of itself, so that
// OpenBLAS is loaded with the setting. Returns only if that was impossible.
void reexec_with_openblas_core(const char* core) {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (cmdline.empty()) return;
  std::vector<std::string> args;  // NUL-separated, NUL-terminated
  for (size_t begin = 0; begin < cmdline.size();) {
    const size_t end = cmdline.find('\0', begin);
    args.push_back(cmdline.substr(begin, end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  setenv("OPENBLAS_CORETYPE", core, 1);
  execv("/proc/self/exe", argv.data());
  unsetenv("OPENBLAS_CORETYPE");  // exec failed: carry on with OpenBLAS's own choice
}
#endif

}  // namespace

int run_gemm_bench(const GemmBenchOptions& opt) {
  check(opt.m > 0 && opt.n > 0 && opt.k > 0, "bench gemm: sizes must be positive, got m=", opt.m, " n=", opt.n,
        " k=", opt.k);
  check(opt.repeat >= 1, "bench gemm: repeat must be >= 1, got ", opt.repeat);
  check(opt.threads >= 0, "bench gemm: threads must be >= 0, got ", opt.threads);
#ifdef DETGRAD_HAVE_OPENBLAS
  if (!std::getenv("OPENBLAS_CORETYPE"))
    reexec_with_openblas_core(kernels::isa() == kernels::Isa::avx512 ? "SkylakeX" : "Haswell");
#endif

  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  const int threads = opt.threads > 0 ? opt.threads : omp_get_max_threads();
  const int64_t m = opt.m, n = opt.n, k = opt.k;
  const std::vector<float> A = random_matrix(m * k, 1), B = random_matrix(k * n, 2);
  std::vector<float> C(static_cast<size_t>(m * n));
  const double flops = 2.0 * double(m) * double(n) * double(k);

  const double t_dg = best_seconds(opt.repeat, [&] {
    kernels::sgemm(false, false, m, n, k, 1.0f, A.data(), k, B.data(), n, 0.0f, C.data(), n);
  });

  nlohmann::ordered_json out;  // keys in insertion order
  out["bench"] = "gemm";
  out["m"] = m;
  out["n"] = n;
  out["k"] = k;
  out["threads"] = threads;
  out["isa"] = kernels::isa_name();
  out["detgrad_gflops"] = round_to(flops / t_dg * 1e-9, 2);
#ifdef DETGRAD_HAVE_OPENBLAS
  std::vector<float> C_ref(C.size());
  openblas_set_num_threads(threads);
  const double t_ob = best_seconds(opt.repeat, [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, A.data(), k, B.data(), n, 0.0f, C_ref.data(),
                n);
  });
  double max_abs_diff = 0;
  for (size_t i = 0; i < C.size(); ++i) max_abs_diff = std::max(max_abs_diff, double(std::fabs(C[i] - C_ref[i])));
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  out["openblas_gflops"] = round_to(flops / t_ob * 1e-9, 2);
  out["openblas_coretype"] = coretype ? coretype : "default";
  out["openblas_core"] = openblas_get_corename();
  out["ratio"] = round_to(t_ob / t_dg, 3);
  out["max_abs_diff"] = max_abs_diff;
#else
  out["reference"] = "none";
#endif
  std::printf("%s\n", out.dump().c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace dg::bench
