// Benchmarks behind `detgrad bench ...`. Each prints one JSON line per measurement with detgrad's
// figure and, where the reference library is linked, the reference's figure from the same run and
// the ratio detgrad / reference.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dg::bench {

struct GemmBenchOptions {
  int m = 1024, n = 1024, k = 1024;
  int threads = 0;  // 0: OpenMP's default
  int repeat = 10;  // timed repetitions after one warm-up; the best is reported
};
// C = A @ B in f32 with detgrad's fast sgemm and (if built with it) OpenBLAS cblas_sgemm.
int run_gemm_bench(const GemmBenchOptions& opt);

struct ConvBenchOptions {
  std::vector<std::string> shapes;  // preset names or "N,C,H,W,O,k,stride,pad,groups"; empty: all presets
  int threads = 0;                  // 0: OpenMP's default
  int repeat = 5;                   // timed repetitions after one warm-up; the best is reported
  bool torch = true;                // also run bench/bench_conv_torch.py (if /usr/bin/python3 has torch)
  std::string clock = "wall";       // "wall", or "cpu": process CPU time (robust on a busy machine with 1 thread)
};
// conv2d forward and forward+backward GFLOP/s (f32), against PyTorch in the same run (bench/conv.cpp).
int run_conv_bench(const ConvBenchOptions& opt);

struct NmsBenchOptions {
  std::vector<int> sizes = {1000, 10000, 50000};  // box counts, one JSON line each
  double iou_threshold = 0.5;
  int repeat = 5;     // timed repetitions after one warm-up; the best is reported
  bool torch = true;  // also time torchvision.ops.nms (bench/bench_nms_torch.py)
};
// Hard NMS on f32 boxes (detectors/nms.h) against torchvision.ops.nms on the same boxes, same run
// (bench/nms.cpp); also reports whether the kept indices are identical.
int run_nms_bench(const NmsBenchOptions& opt);

struct Resnet18BenchOptions {
  int threads = 0;          // 0: OpenMP's default (also given to PyTorch)
  int repeat = 3;           // timed repetitions after one warm-up; the best is reported
  int64_t size = 224;       // forward input 1x3xSIZExSIZE
  int64_t train_batch = 8;  // training step input BATCHx3xTRAIN_SIZExTRAIN_SIZE
  int64_t train_size = 128;
  bool torch = true;  // also run bench/bench_resnet18_torch.py (if /usr/bin/python3 has torch)
};
// torchvision-equivalent ResNet-18: forward ms, training step (forward + cross-entropy + backward) ms,
// peak memory; against torchvision in the same run (bench/resnet18.cpp).
int run_resnet18_bench(const Resnet18BenchOptions& opt);

struct CenterNetParityOptions {
  std::string data;     // an exported dataset: DIR/images/*.png + DIR/instances.json
  std::string out;      // where the files for centernet_torch.py --parity-check go
  int64_t n = 4;        // images used (the first n of instances.json)
  uint64_t seed = 0;    // model Generator seed
  double width = 0.25;  // CenterNetConfig::cpu(10) by default
  std::vector<int64_t> up = {64, 32, 32};
  int64_t head = 32;
};
// The detgrad half of the PyTorch mirror check (bench/centernet_parity.cpp): weights, targets,
// forward, loss, gradients, one Adam step, eval forward + decode, augmentation of fixed draws.
int run_centernet_parity(const CenterNetParityOptions& opt);

}  // namespace dg::bench
