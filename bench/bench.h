// Benchmarks behind `detgrad bench ...`. Each prints one JSON line per measurement with detgrad's
// figure and, where the reference library is linked, the reference's figure from the same run and
// the ratio detgrad / reference.
#pragma once
#include <vector>

namespace dg::bench {

struct GemmBenchOptions {
  int m = 1024, n = 1024, k = 1024;
  int threads = 0;   // 0: OpenMP's default
  int repeat = 10;   // timed repetitions after one warm-up; the best is reported
};
// C = A @ B in f32 with detgrad's fast sgemm and (if built with it) OpenBLAS cblas_sgemm.
int run_gemm_bench(const GemmBenchOptions& opt);

struct NmsBenchOptions {
  std::vector<int> sizes = {1000, 10000, 50000};  // box counts, one JSON line each
  double iou_threshold = 0.5;
  int repeat = 5;                                 // timed repetitions after one warm-up; the best is reported
  bool torch = true;                              // also time torchvision.ops.nms (bench/bench_nms_torch.py)
};
// Hard NMS on f32 boxes (detectors/nms.h) against torchvision.ops.nms on the same boxes, same run
// (bench/nms.cpp); also reports whether the kept indices are identical.
int run_nms_bench(const NmsBenchOptions& opt);

}  // namespace dg::bench
