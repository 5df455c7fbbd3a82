// detgrad: the command line. Subcommands live one per file (ref.cpp, demo.cpp, bench.cpp).
#include <omp.h>

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "autograd/kernels/cpu.h"
#include "detectors/ref/ref_ops.h"
#include "tools/commands.h"
#include "tools/flags.h"

// OpenMP threads that wait by spinning steal the cores from the working ones when anything else runs
// on the machine. Measured on 2 cores, one CenterNet training step (batch 32, 96x96, ResNet-18 x0.25):
//   idle machine:                    default spin 260 images/s, GOMP_SPINCOUNT=3000 245, passive 224
//   beside a PyTorch training job:   default spin   5 images/s,                         passive  90
//   beside one busy loop:            default ~100,  GOMP_SPINCOUNT=3000 ~118,            passive ~100
// A short spin keeps nearly all the idle speed and none of the collapse. The runtime reads these
// variables only when it starts, so the CLI restarts itself once with GOMP_SPINCOUNT=3000 unless the
// user set OMP_WAIT_POLICY or GOMP_SPINCOUNT. `bench` keeps the default, as the libraries it is
// compared with do.
static void restart_with_short_spin(int argc, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  if (argc > 1 && std::string(argv[1]) == "bench") return;
  setenv("GOMP_SPINCOUNT", "3000", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

int main(int argc, char** argv) {
  restart_with_short_spin(argc, argv);
  dg::register_all_ref_ops();
  CLI::App app{"detgrad: a from-scratch deep-learning engine for one-stage object detection"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "print version, the ISA in use and the OpenMP thread count");
  auto run_ref = dg::tools::add_ref_command(app);
  auto run_demo = dg::tools::add_demo_command(app);
  auto run_bench = dg::tools::add_bench_command(app);
  auto run_eval = dg::tools::add_eval_command(app);
  auto run_data = dg::tools::add_data_command(app);
  auto run_train = dg::tools::add_train_command(app);
  auto run_detect = dg::tools::add_detect_command(app);
  auto run_plot = dg::tools::add_plot_command(app);
  auto run_summary = dg::tools::add_summary_command(app);
  auto run_graph = dg::tools::add_graph_command(app);
  auto run_report = dg::tools::add_report_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (version) {
      std::printf("detgrad %s\nisa: %s (cpu has avx2+fma+f16c: %s)\nopenmp threads: %d\n", DETGRAD_VERSION,
                  dg::kernels::isa_name(), dg::kernels::cpu_has_avx2() ? "yes" : "no", omp_get_max_threads());
      return 0;
    }
    if (app.got_subcommand("ref")) return run_ref();
    if (app.got_subcommand("demo")) return run_demo();
    if (app.got_subcommand("bench")) return run_bench();
    if (app.got_subcommand("eval")) return run_eval();
    if (app.got_subcommand("data")) return run_data();
    if (app.got_subcommand("train")) return run_train();
    if (app.got_subcommand("detect")) return run_detect();
    if (app.got_subcommand("plot")) return run_plot();
    if (app.got_subcommand("summary")) return run_summary();
    if (app.got_subcommand("graph")) return run_graph();
    if (app.got_subcommand("report")) return run_report();
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "detgrad: error: %s\n", dg::tools::with_ref_hints(dg::tools::with_flags(e.what())).c_str());
    return 1;
  }
}
