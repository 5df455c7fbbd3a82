// `detgrad report RUN_DIR... [--out report.html] [--no-pictures]`: one self-contained HTML page per
// set of runs (detectors/pipeline/report.h; docs/reading_a_run.md). `train` and `demo` write
// RUN/report.html at the end of a run (write_report_after_run).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "detectors/pipeline/report.h"
#include "tools/commands.h"
#include "tools/train_run.h"

namespace dg::tools {

namespace {
struct ReportCli {
  std::vector<std::string> runs;
  std::string out;
  bool no_pictures = false;
};

int run(const ReportCli& c) {
  const std::string out = !c.out.empty()       ? c.out
                          : c.runs.size() == 1 ? (std::filesystem::path(c.runs[0]) / "report.html").string()
                                               : "report.html";
  det::ReportOptions o;
  o.pictures = !c.no_pictures;
  std::printf("wrote %s\n", det::write_run_report(c.runs, out, o).c_str());
  return 0;
}
}  // namespace

void write_report_after_run(const std::string& run_dir) {
  try {
    const std::string path = det::write_run_report({run_dir},
                                                   (std::filesystem::path(run_dir) / "report.html").string());
    std::printf("report: %s  (open it in a browser)\n", path.c_str());
  } catch (const std::exception& e) {  // the run itself succeeded; say why there is no report
    std::fprintf(stderr, "note: no report: %s\n", e.what());
  }
}

std::function<int()> add_report_command(CLI::App& app) {
  auto c = std::make_shared<ReportCli>();
  CLI::App* s = app.add_subcommand("report", "one self-contained HTML page about training runs (open it in a browser)");
  s->add_option("runs", c->runs, "run directories (several: their curves overlaid)")->required();
  s->add_option("--out", c->out, "the HTML file (default RUN_DIR/report.html for one run, else report.html)");
  s->add_flag("--no-pictures", c->no_pictures, "leave out the pictures (no evaluation, no explain)");
  return [c] { return run(*c); };
}

}  // namespace dg::tools
