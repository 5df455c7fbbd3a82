// `detgrad plot FILE.jsonl[:LABEL]... --x FIELD --y FIELD [--y FIELD...] [--where KEY=VALUE...]
//  [--log-y] [--smooth N] [--title T] --out curve.png`: curves from metric logs, one series per file
// and y field (docs/plots.md). E.g. mAP@0.5 against images seen, detgrad vs PyTorch:
//   detgrad plot runs/dg/metrics.jsonl:detgrad runs/torch/metrics.jsonl:pytorch
//                --x images --y AP50 --where kind=eval --out ap50.png
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "autograd/io/image.h"
#include "detectors/plot.h"
#include "detectors/plot_jsonl.h"
#include "detectors/plot_svg.h"
#include "tools/commands.h"

namespace dg::tools {

namespace {
namespace fs = std::filesystem;

struct PlotArgs {
  std::vector<std::string> files, ys, where;
  std::string x, out, title, xlabel, ylabel;
  bool log_y = false;
  int smooth = 0, width = 640, height = 400;
  double y_min = 0, y_max = 0;
  CLI::Option *y_min_opt = nullptr, *y_max_opt = nullptr;
};

// "runs/a/metrics.jsonl:detgrad" -> file and label. An existing file whose name has a ':' stays whole.
// Without a label: the file's stem, or its folder's name for RUN_DIR/metrics.jsonl.
std::pair<std::string, std::string> file_and_label(const std::string& arg) {
  const size_t colon = arg.rfind(':');
  if (colon != std::string::npos && colon > 0 && !fs::exists(arg)) return {arg.substr(0, colon), arg.substr(colon + 1)};
  const fs::path p(arg);
  const std::string dir = p.parent_path().filename().string();
  return {arg, p.stem() == "metrics" && !dir.empty() ? dir : p.stem().string()};
}

int run(const PlotArgs& a) {
  std::vector<plot::RowFilter> where;
  for (const std::string& w : a.where) where.push_back(plot::parse_row_filter(w));
  std::vector<plot::Series> series;
  for (const std::string& arg : a.files) {
    const auto [file, label] = file_and_label(arg);
    for (plot::Series& s : plot::read_jsonl_series(file, a.x, a.ys, where)) {
      // One y field: the legend names the file; several: the field (and the file when there are several).
      if (a.ys.size() == 1) s.label = label;
      else if (a.files.size() > 1) s.label = label + " " + s.label;
      series.push_back(std::move(s));
    }
  }
  plot::PlotOptions o;
  o.title = a.title;
  o.xlabel = a.xlabel.empty() ? a.x : a.xlabel;
  o.ylabel = a.ylabel.empty() && a.ys.size() == 1 ? a.ys[0] : a.ylabel;
  o.width = a.width, o.height = a.height;
  o.log_y = a.log_y;
  o.smooth = a.smooth;
  if (a.y_min_opt->count()) o.y_min = a.y_min;
  if (a.y_max_opt->count()) o.y_max = a.y_max;
  const std::string svg = plot::save_plot(a.out, series, o);
  for (const plot::Series& s : series)
    std::printf("%-24s %5zu points, last (%s, %s) = (%g, %g)\n", s.label.c_str(), s.x.size(), a.x.c_str(),
                a.ys.size() == 1 ? a.ys[0].c_str() : "y", s.x.back(), s.y.back());
  std::printf("wrote %s and %s\n", a.out.c_str(), svg.c_str());
  return 0;
}
}  // namespace

std::function<int()> add_plot_command(CLI::App& app) {
  auto a = std::make_shared<PlotArgs>();
  CLI::App* c = app.add_subcommand("plot", "line plots (PNG) from JSON-lines metric logs (docs/plots.md)");
  c->add_option("files", a->files, "FILE.jsonl or FILE.jsonl:LABEL, one series per file (and --y field)")->required();
  c->add_option("--x", a->x, "field for the x axis, e.g. images, step, minutes")->required();
  c->add_option("--y", a->ys, "field(s) for the y axis, e.g. AP50 or loss (repeatable)")->required();
  c->add_option("--where", a->where, "keep only rows with KEY=VALUE, e.g. kind=eval (repeatable)");
  c->add_option("--out", a->out, "the PNG to write")->required();
  c->add_flag("--log-y", a->log_y, "logarithmic y axis (values <= 0 are skipped)");
  c->add_option("--smooth", a->smooth, "draw a centred moving average over N points over the faint raw curve");
  c->add_option("--title", a->title, "title above the plot");
  c->add_option("--xlabel", a->xlabel, "x axis label (default: the --x field)");
  c->add_option("--ylabel", a->ylabel, "y axis label (default: the --y field when there is one)");
  c->add_option("--width", a->width, "image width in pixels")->capture_default_str();
  c->add_option("--height", a->height, "image height in pixels")->capture_default_str();
  a->y_min_opt = c->add_option("--ymin", a->y_min, "pin the bottom of the y axis");
  a->y_max_opt = c->add_option("--ymax", a->y_max, "pin the top of the y axis");
  return [a] { return run(*a); };
}

}  // namespace dg::tools
