// `detgrad bench KERNEL ...`: one JSON line per measurement, with the reference library's figure
// from the same run and the ratio (see bench/).
#include "bench/bench.h"
#include "tools/commands.h"

namespace dg::tools {

std::function<int()> add_bench_command(CLI::App& app) {
  auto g = std::make_shared<bench::GemmBenchOptions>();
  CLI::App* c = app.add_subcommand("bench", "benchmarks against OpenBLAS / PyTorch, reported as ratios");
  c->require_subcommand(1);
  CLI::App* gemm = c->add_subcommand("gemm", "f32 C = A @ B: detgrad sgemm vs OpenBLAS cblas_sgemm (AVX2 kernels)");
  gemm->add_option("--m", g->m, "rows of A and C")->capture_default_str();
  gemm->add_option("--n", g->n, "columns of B and C")->capture_default_str();
  gemm->add_option("--k", g->k, "columns of A, rows of B")->capture_default_str();
  gemm->add_option("--threads", g->threads, "OpenMP threads (0: default)")->capture_default_str();
  gemm->add_option("--repeat", g->repeat, "timed repetitions (best reported)")->capture_default_str();
  auto nm = std::make_shared<bench::NmsBenchOptions>();
  CLI::App* nmsc = c->add_subcommand("nms", "hard NMS on 1k/10k/50k f32 boxes vs torchvision.ops.nms (same run, same boxes)");
  nmsc->add_option("--sizes", nm->sizes, "box counts (repeatable)")->capture_default_str();
  nmsc->add_option("--iou", nm->iou_threshold, "IoU threshold")->capture_default_str();
  nmsc->add_option("--repeat", nm->repeat, "timed repetitions (best reported)")->capture_default_str();
  nmsc->add_flag("!--no-torch", nm->torch, "skip the torchvision reference");
  return [g, gemm, nm, nmsc] {
    if (gemm->parsed()) return bench::run_gemm_bench(*g);
    if (nmsc->parsed()) return bench::run_nms_bench(*nm);
    return 1;
  };
}

}  // namespace dg::tools
