// Benchmarks behind `detgrad bench ...`. Each prints one JSON line per measurement with detgrad's
// figure and, where the reference library is linked, the reference's figure from the same run and
// the ratio detgrad / reference.
#pragma once

namespace dg::bench {

struct GemmBenchOptions {
  int m = 1024, n = 1024, k = 1024;
  int threads = 0;   // 0: OpenMP's default
  int repeat = 10;   // timed repetitions after one warm-up; the best is reported
};
// C = A @ B in f32 with detgrad's fast sgemm and (if built with it) OpenBLAS cblas_sgemm.
int run_gemm_bench(const GemmBenchOptions& opt);

}  // namespace dg::bench
