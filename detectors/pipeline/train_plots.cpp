#include "detectors/pipeline/train_plots.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "autograd/io/image.h"
#include "detectors/plot.h"

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
}  // namespace

std::vector<std::string> write_training_plots(const std::string& run_dir, const std::vector<MetricCurve>& curves) {
  namespace fs = std::filesystem;
  std::ifstream in(fs::path(run_dir) / "metrics.jsonl");
  std::map<std::string, plot::Series> train, evals;
  // The train lines' loss keys: "loss" (the total) and whatever parts the detector reports, in the
  // order they first appear (CenterNet's wh enters the total with weight 0.1).
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
  plot::Series lr{"learning rate"};
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
    if (is_train && j.contains("lr")) {
      lr.x.push_back(x);
      lr.y.push_back(j["lr"].get<double>());
    }
  }
  std::vector<std::string> written;
  if (train.empty()) return written;
  std::vector<plot::Series> losses;
  for (const auto& [key, label] : train_keys)
    if (train.count(key)) losses.push_back(train[key]);
  plot::PlotOptions o;
  o.title = "training loss";
  o.xlabel = "images seen";
  o.ylabel = "loss";
  o.log_y = true;
  o.smooth = losses[0].x.size() > 40 ? 9 : 0;
  plot::PlotOptions lo;
  lo.title = "learning rate";
  lo.xlabel = "images seen";
  lo.height = 160;
  lo.y_min = 0;
  Tensor img = stack_rows(plot::line_plot(losses, o), plot::line_plot({lr}, lo));
  const std::string loss_png = (fs::path(run_dir) / "loss.png").string();
  io::save_png(loss_png, img);
  written.push_back(loss_png);
  if (!evals.empty()) {
    std::vector<plot::Series> aps;
    for (const auto& [key, label] : eval_keys)
      if (evals.count(key)) {
        aps.push_back(evals[key]);
        aps.back().points = true;
      }
    plot::PlotOptions e;
    e.title = "validation";
    e.xlabel = "images seen";
    e.ylabel = "AP";
    e.y_min = 0;
    const std::string map_png = (fs::path(run_dir) / "map.png").string();
    io::save_png(map_png, plot::line_plot(aps, e));
    written.push_back(map_png);
  }
  return written;
}

}  // namespace dg::det
