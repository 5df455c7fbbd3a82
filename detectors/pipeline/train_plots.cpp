#include "detectors/pipeline/train_plots.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "autograd/io/image.h"
#include "autograd/io/safetensors.h"
#include "detectors/plot.h"
#include "detectors/plot_svg.h"

namespace dg::det {

namespace {
// Two u8 [H, W, 3] images of the same width, one above the other.
Tensor stack_rows(const Tensor& top, const Tensor& bottom) {
  const int64_t w = top.size(1);
  Tensor out = Tensor::empty({top.size(0) + bottom.size(0), w, 3}, DType::u8);
  std::memcpy(out.data<uint8_t>(), top.data<uint8_t>(), (size_t)top.numel());
  std::memcpy(out.data<uint8_t>() + top.numel(), bottom.data<uint8_t>(), (size_t)bottom.numel());
  return out;
}
// The two plots of stack_rows as one SVG: each standalone plot nested at its offset (the second's clip
// id renamed so the two stay apart).
std::string stack_svg(const std::vector<plot::Series>& top, const plot::PlotOptions& to,
                      const std::vector<plot::Series>& bottom, const plot::PlotOptions& bo) {
  std::string a = plot::line_plot_svg(top, to), b = plot::line_plot_svg(bottom, bo);
  for (std::string from : {std::string("id=\"data\""), std::string("url(#data)")}) {
    const std::string to_ = from == "id=\"data\"" ? "id=\"data2\"" : "url(#data2)";
    for (size_t at = b.find(from); at != std::string::npos; at = b.find(from, at + to_.size()))
      b.replace(at, from.size(), to_);
  }
  const int w = std::max(to.width, bo.width), h = to.height + bo.height;
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(w) + "\" height=\"" + std::to_string(h) +
         "\" viewBox=\"0 0 " + std::to_string(w) + " " + std::to_string(h) + "\">\n<svg x=\"0\" y=\"0\"" + a.substr(4) +
         "<svg x=\"0\" y=\"" + std::to_string(to.height) + "\"" + b.substr(4) + "</svg>\n";
}
}  // namespace

namespace {
// The curves of a run's metrics.jsonl: the loss parts of the train lines (in the order they first
// appear), the learning rate, and the task's metric curves of the eval lines.
struct RunCurves {
  std::vector<plot::Series> losses, metrics;
  plot::Series lr{"learning rate"};
};

RunCurves read_curves(const std::string& metrics_path, const std::vector<MetricCurve>& curves) {
  std::ifstream in(metrics_path);
  std::map<std::string, plot::Series> train, evals;
  // "loss" (the total) first, then whatever parts the model reports (CenterNet's wh enters the total
  // with weight 0.1).
  std::vector<std::pair<std::string, std::string>> train_keys = {{"loss", "total"}};
  const std::set<std::string> bookkeeping = {"kind", "step", "epoch",      "images", "train_seconds",
                                             "lr",   "loss", "loss_scale", "skipped"};
  const std::map<std::string, std::string> labels = {{"heatmap", "heatmap (focal)"},
                                                     {"wh", "wh (L1, x0.1 in total)"},
                                                     {"offset", "offset (L1)"},
                                                     {"cls", "classification (focal)"},
                                                     {"box", "box"},
                                                     {"ctr", "centerness (BCE)"}};
  std::vector<std::pair<std::string, std::string>> eval_keys;
  for (const MetricCurve& c : curves) eval_keys.push_back({c.key, c.label});
  RunCurves r;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("kind") || !j.contains("images")) continue;
    const double x = j["images"].get<double>();
    const bool is_train = j["kind"] == "train";
    if (is_train)
      for (auto& [key, value] : j.items())
        if (!bookkeeping.count(key) && value.is_number() &&
            std::none_of(train_keys.begin(), train_keys.end(), [&](const auto& k) { return k.first == key; }))
          train_keys.push_back({key, labels.count(key) ? labels.at(key) : key});
    for (const auto& [key, label] : is_train ? train_keys : eval_keys) {
      if (!j.contains(key)) continue;
      auto& s = (is_train ? train : evals)[key];
      s.label = label;
      s.x.push_back(x);
      s.y.push_back(j[key].get<double>());
    }
    if (is_train && j.contains("lr")) r.lr.x.push_back(x), r.lr.y.push_back(j["lr"].get<double>());
  }
  for (const auto& [key, label] : train_keys)
    if (train.count(key)) r.losses.push_back(train[key]);
  for (const auto& [key, label] : eval_keys)
    if (evals.count(key)) {
      r.metrics.push_back(evals[key]);
      r.metrics.back().points = true;
    }
  return r;
}
}  // namespace

std::vector<std::string> write_training_plots(const std::string& run_dir, const std::vector<MetricCurve>& curves) {
  namespace fs = std::filesystem;
  const RunCurves c = read_curves((fs::path(run_dir) / "metrics.jsonl").string(), curves);
  std::vector<std::string> written;
  if (c.losses.empty()) return written;
  plot::PlotOptions o;
  o.title = "training loss";
  o.xlabel = "images seen";
  o.ylabel = "loss";
  o.log_y = true;
  o.smooth = c.losses[0].x.size() > 40 ? 9 : 0;
  plot::PlotOptions lo;
  lo.title = "learning rate";
  lo.xlabel = "images seen";
  lo.height = 160;
  lo.y_min = 0;
  const std::string loss_png = (fs::path(run_dir) / "loss.png").string();
  io::save_png(loss_png, stack_rows(plot::line_plot(c.losses, o), plot::line_plot({c.lr}, lo)));
  const std::string svg = stack_svg(c.losses, o, {c.lr}, lo), svg_path = (fs::path(run_dir) / "loss.svg").string();
  io::write_file_atomic(svg_path, std::vector<uint8_t>(svg.begin(), svg.end()), "training plots");
  written.push_back(loss_png);
  written.push_back(svg_path);
  if (c.metrics.empty()) return written;
  plot::PlotOptions e;
  e.title = "validation";
  e.xlabel = "images seen";
  e.ylabel = "AP";
  e.y_min = 0;
  const std::string map_png = (fs::path(run_dir) / "map.png").string();
  const std::string map_svg = plot::save_plot(map_png, c.metrics, e);
  written.push_back(map_png);
  written.push_back(map_svg);
  return written;
}

}  // namespace dg::det
