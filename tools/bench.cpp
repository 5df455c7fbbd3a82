// `detgrad bench KERNEL ...`: one JSON line per measurement, with the reference library's figure
// from the same run and the ratio (see bench/).
#include "bench/bench.h"
#include "bench/amp_memory.h"
#include "tools/commands.h"

namespace dg::tools {

std::function<int()> add_bench_command(CLI::App& app) {
  auto g = std::make_shared<bench::GemmBenchOptions>();
  CLI::App* c = app.add_subcommand("bench", "benchmarks against OpenBLAS / PyTorch, reported as ratios");
  c->require_subcommand(1);
  CLI::App* gemm = c->add_subcommand("gemm",
                                     "f32 C = A @ B: detgrad sgemm vs OpenBLAS cblas_sgemm (same-ISA OpenBLAS kernels: "
                                     "Haswell for avx2, SkylakeX for avx512)");
  gemm->add_option("--m", g->m, "rows of A and C")->capture_default_str();
  gemm->add_option("--n", g->n, "columns of B and C")->capture_default_str();
  gemm->add_option("--k", g->k, "columns of A, rows of B")->capture_default_str();
  gemm->add_option("--threads", g->threads, "OpenMP threads (0: default)")->capture_default_str();
  gemm->add_option("--repeat", g->repeat, "timed repetitions (best reported)")->capture_default_str();
  auto cv = std::make_shared<bench::ConvBenchOptions>();
  CLI::App* conv = c->add_subcommand("conv", "f32 conv2d forward and forward+backward GFLOP/s vs PyTorch (same run)");
  conv->add_option("--shape", cv->shapes,
                   "preset (resnet_64x56, resnet_128x28, resnet_256x14, resnet_512x7, stem_7x7s2, depthwise_128x28, "
                   "pointwise_256x14) or N,C,H,W,O,k,stride,pad,groups; repeatable; default all presets");
  conv->add_option("--threads", cv->threads, "OpenMP threads, also given to PyTorch (0: default)")
      ->capture_default_str();
  conv->add_option("--repeat", cv->repeat, "timed repetitions (best reported)")->capture_default_str();
  conv->add_flag("!--no-torch", cv->torch, "skip the PyTorch reference");
  conv->add_option("--clock", cv->clock, "wall, or cpu (process CPU time; use with --threads 1 on a busy machine)")
      ->capture_default_str();
  auto nm = std::make_shared<bench::NmsBenchOptions>();
  CLI::App* nmsc = c->add_subcommand("nms",
                                     "hard NMS on 1k/10k/50k f32 boxes vs torchvision.ops.nms (same run, same boxes)");
  nmsc->add_option("--sizes", nm->sizes, "box counts (repeatable)")->capture_default_str();
  nmsc->add_option("--iou", nm->iou_threshold, "IoU threshold")->capture_default_str();
  nmsc->add_option("--repeat", nm->repeat, "timed repetitions (best reported)")->capture_default_str();
  nmsc->add_flag("!--no-torch", nm->torch, "skip the torchvision reference");
  auto rn = std::make_shared<bench::Resnet18BenchOptions>();
  CLI::App* rnc = c->add_subcommand(
      "resnet18",
      "ResNet-18 forward (1x3x224x224) and training step (8x3x128x128) ms and peak memory vs torchvision (same run)");
  rnc->add_option("--threads", rn->threads, "OpenMP threads, also given to PyTorch (0: default)")
      ->capture_default_str();
  rnc->add_option("--repeat", rn->repeat, "timed repetitions (best reported)")->capture_default_str();
  rnc->add_option("--size", rn->size, "forward input size")->capture_default_str();
  rnc->add_option("--train-batch", rn->train_batch, "training step batch")->capture_default_str();
  rnc->add_option("--train-size", rn->train_size, "training step input size")->capture_default_str();
  rnc->add_flag("!--no-torch", rn->torch, "skip the torchvision reference");
  auto cp = std::make_shared<bench::CenterNetParityOptions>();
  CLI::App* cpc = c->add_subcommand("centernet-parity",
                                    "write CenterNet weights/targets/outputs/loss/grads/augmentations for "
                                    "bench/centernet_torch.py --parity-check");
  cpc->add_option("--data", cp->data, "exported dataset (detgrad data export ...)")->required();
  cpc->add_option("--out", cp->out, "output directory")->required();
  cpc->add_option("--n", cp->n, "images (the first n)")->capture_default_str();
  cpc->add_option("--seed", cp->seed, "model seed")->capture_default_str();
  cpc->add_option("--width", cp->width, "ResNet-18 width multiplier")->capture_default_str();
  cpc->add_option("--up", cp->up, "three up-stage widths")->delimiter(',')->expected(3)->capture_default_str();
  cpc->add_option("--head", cp->head, "head width")->capture_default_str();
  CLI::App* amc = c->add_subcommand("amp-memory",
                                    "peak tensor memory of one CenterNet training step: f32 / "
                                    "autocast f16, bf16 / f16 weights (docs/memory.md)")
                      ->allow_extras();
  return [g, gemm, cv, conv, nm, nmsc, rn, rnc, cp, cpc, amc] {
    if (gemm->parsed()) return bench::run_gemm_bench(*g);
    if (conv->parsed()) return bench::run_conv_bench(*cv);
    if (nmsc->parsed()) return bench::run_nms_bench(*nm);
    if (rnc->parsed()) return bench::run_resnet18_bench(*rn);
    if (cpc->parsed()) return bench::run_centernet_parity(*cp);
    if (amc->parsed()) {
      std::vector<std::string> rest = amc->remaining();
      std::vector<char*> argv;
      for (auto& s : rest) argv.push_back(s.data());
      return bench::bench_amp_memory((int)argv.size(), argv.data());
    }
    return 1;
  };
}

}  // namespace dg::tools
