// The run report (see report.h): each section is one function writing HTML from a run's files.
#include "detectors/pipeline/report.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "autograd/error.h"
#include "autograd/io/image.h"
#include "autograd/io/safetensors.h"
#include "detectors/draw.h"
#include "detectors/eval/coco_json.h"
#include "detectors/pipeline/explain.h"
#include "detectors/pipeline/inspect.h"
#include "detectors/pipeline/model_file.h"
#include "detectors/pipeline/train.h"
#include "detectors/plot_svg.h"

namespace dg::det {

namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

// ---- HTML and data-URI helpers ----------------------------------------------------------------------
std::string esc(const std::string& s) { return plot::xml_escape(s); }

std::string base64(const std::string& bytes) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string r;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
    r += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = (unsigned char)bytes[i] << 16;
    r += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8;
    r += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return r;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  check(in.good(), "report: cannot read ", path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A scratch file name, unique in this process.
std::string scratch(const std::string& ext) {
  static std::atomic<int> n{0};
  return (fs::temp_directory_path() / ("detgrad_report_" + std::to_string(getpid()) + "_" + std::to_string(n++) + ext))
      .string();
}

std::string img_tag(const std::string& mime, const std::string& bytes, const std::string& alt) {
  return "<img alt=\"" + esc(alt) + "\" src=\"data:" + mime + ";base64," + base64(bytes) + "\">";
}

std::string png_tag(const Tensor& image, const std::string& alt) {
  const std::string p = scratch(".png");
  io::save_png(p, image);
  const std::string bytes = read_bytes(p);
  fs::remove(p);
  return img_tag("image/png", bytes, alt);
}

std::string section(const std::string& id, const std::string& title, const std::string& what, const std::string& body) {
  return "<section id=\"" + id + "\"><h2>" + esc(title) + "</h2><p class=\"what\">" + esc(what) + "</p>\n" + body +
         "</section>\n";
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

// ---- a run's files -----------------------------------------------------------------------------------
struct Run {
  std::string name, dir;
  json config, eval;  // eval: null when the run has no eval.json
  std::vector<json> lines;
  LoadedModel model;
};

Run open_run(const std::string& dir) {
  Run r;
  r.dir = dir;
  r.name = fs::path(dir).filename().string();
  if (r.name.empty()) r.name = fs::path(dir).parent_path().filename().string();
  check(fs::exists(fs::path(dir) / "config.json"), "report: ", dir, " has no config.json (not a run directory)");
  r.config = eval::read_json_file((fs::path(dir) / "config.json").string());
  if (fs::exists(fs::path(dir) / "eval.json")) r.eval = eval::read_json_file((fs::path(dir) / "eval.json").string());
  std::ifstream in(fs::path(dir) / "metrics.jsonl");
  check(in.good(), "report: ", dir, " has no metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.contains("kind") && j.contains("images")) r.lines.push_back(j);
  }
  r.model = load_model(dir);
  return r;
}

// ---- sections ----------------------------------------------------------------------------------------
std::string data_line(const json& d) {
  std::string s = d.value("source", std::string("?"));
  if (s == "fashion-scenes")
    s += " " + d.value("preset", std::string()) + ", " + std::to_string(d.value("size", 0)) + " scenes, seed " +
         std::to_string(d.value("seed", 0));
  return s;
}

std::string config_section(const std::vector<Run>& runs) {
  std::string b = "<table><tr><th>run</th><th>model</th><th>data</th><th>training</th></tr>\n";
  for (const Run& r : runs) {
    const json& c = r.config;
    std::string train = "batch " + std::to_string(c.value("batch", 0)) + ", lr " + num(c.value("lr", 0.0)) + ", " +
                        (c.value("steps", 0) > 0    ? std::to_string(c.value("steps", 0)) + " steps"
                         : c.value("epochs", 0) > 0 ? std::to_string(c.value("epochs", 0)) + " epochs"
                                                    : num(c.value("minutes", 0.0)) + " minutes") +
                        ", amp " + c.value("amp", std::string("none")) + ", seed " + std::to_string(c.value("seed", 0));
    const std::string opts = c.contains("model_options") && !c["model_options"].empty()
                                 ? " " + c["model_options"].dump()
                                 : "";
    b += "<tr><td>" + esc(r.name) + "</td><td>" + esc(r.model.net->describe() + opts) + "; input " +
         std::to_string(r.model.info.input_height) + "x" + std::to_string(r.model.info.input_width) + ", " +
         std::to_string(r.model.info.num_classes()) + " classes</td><td>train: " + esc(data_line(c["train_data"])) +
         "<br>validation: " + esc(data_line(c["val_data"])) + "</td><td>" + esc(train) + "</td></tr>\n";
  }
  return section("config", "The runs",
                 "What was trained on what: the model, the data and the options of each run (its config.json).",
                 b + "</table>\n");
}

// One plot of `keys` of the lines of `kind` against images seen or minutes of training, all runs overlaid.
std::string curve_plot(const std::vector<Run>& runs, const std::string& kind, const std::vector<MetricCurve>& keys,
                       bool minutes, const std::string& title, bool log_y) {
  std::vector<plot::Series> series;
  for (const Run& r : runs)
    for (const MetricCurve& k : keys) {
      plot::Series s{runs.size() > 1 ? r.name + ": " + k.label : k.label};
      for (const json& j : r.lines)
        if (j["kind"] == kind && j.contains(k.key) && j[k.key].is_number()) {
          s.x.push_back(minutes ? j.value("train_seconds", 0.0) / 60 : j["images"].get<double>());
          s.y.push_back(j[k.key].get<double>());
        }
      s.points = kind == "eval";
      if (!s.x.empty()) series.push_back(s);
    }
  if (series.empty()) return "<p class=\"note\">(no " + esc(kind) + " lines)</p>";
  plot::PlotOptions o;
  o.title = title;
  o.xlabel = minutes ? "minutes of training" : "images seen";
  o.log_y = log_y;
  o.width = 560, o.height = 340;
  if (!log_y) o.y_min = 0;
  const std::string svg = plot::line_plot_svg(series, o);
  return img_tag("image/svg+xml", svg, title);
}

std::string curves_section(const std::vector<Run>& runs) {
  // The loss keys: "loss" and every other number of the train lines that is not bookkeeping.
  const std::set<std::string> bookkeeping = {"kind",          "step", "epoch",      "images",
                                             "train_seconds", "lr",   "loss_scale", "skipped"};
  std::vector<MetricCurve> losses = {{"loss", "total"}};
  for (const Run& r : runs)
    for (const json& j : r.lines)
      if (j["kind"] == "train")
        for (auto& [k, v] : j.items())
          if (v.is_number() && !bookkeeping.count(k) &&
              std::none_of(losses.begin(), losses.end(), [&](const MetricCurve& m) { return m.key == k; }))
            losses.push_back({k, k});
  const std::vector<MetricCurve> metrics = runs.front().model.net->metric_curves();
  std::string b = "<div class=\"row\">" + curve_plot(runs, "train", losses, false, "training loss", true) +
                  curve_plot(runs, "train", losses, true, "training loss", true) + "</div>\n<div class=\"row\">" +
                  curve_plot(runs, "eval", metrics, false, "validation", false) +
                  curve_plot(runs, "eval", metrics, true, "validation", false) + "</div>\n";
  return section("curves", "Curves",
                 "The loss and each of its parts (log scale) and the validation metrics, against images seen (left) "
                 "and against minutes of training (right); faster runs reach the same loss further left on the right.",
                 b);
}

std::string eval_section(const std::vector<Run>& runs) {
  std::string b;
  for (const Run& r : runs) {
    b += "<h3>" + esc(r.name) + "</h3>\n";
    if (r.eval.is_null()) {
      b += "<p class=\"note\">no evaluation (validation size 0)</p>\n";
      continue;
    }
    std::string nums = "<table><tr>", vals = "<tr>";
    for (auto& [k, v] : r.eval.items())
      if (v.is_number()) nums += "<th>" + esc(k) + "</th>", vals += "<td>" + num(v.get<double>()) + "</td>";
    b += nums + "</tr>" + vals + "</tr></table>\n";
    for (auto& [k, v] : r.eval.items()) {
      if (!v.is_object()) continue;
      b += "<table class=\"perclass\"><tr><th>" + esc(k) + "</th><th></th></tr>";
      for (auto& [c, x] : v.items())
        b += "<tr><td>" + esc(c) + "</td><td>" + (x.is_number() ? num(x.get<double>()) : esc(x.dump())) + "</td></tr>";
      b += "</table>\n";
    }
  }
  return section(
      "eval", "Evaluation",
      "The last evaluation of each run (eval.json). For a detector: COCO box AP averaged over IoU 0.5:0.95 (AP), at "
      "0.5 and 0.75, by object size (s, m, l), recall with 1/10/100 detections (AR), the class-agnostic AP@0.5, "
      "then AP@[.5:.95] per class (-1: no ground truth of that class).",
      b);
}

std::string summary_section(const std::vector<Run>& runs) {
  std::string b;
  for (const Run& r : runs) {
    Inspected m = inspect(r.dir);
    const nn::ModelSummary s = summary_of(m);
    b += "<h3>" + esc(r.name) +
         "</h3>\n<table><tr><th>module (type)</th><th>output shape</th><th>parameters</th>"
         "<th>multiply-adds</th></tr>\n";
    for (const nn::SummaryRow& row : s.rows) {
      if (row.depth != 1) continue;
      std::string shape = "-";
      if (!row.output.empty()) {
        shape = "[";
        for (size_t i = 0; i < row.output.size(); ++i) shape += (i ? "," : "") + std::to_string(row.output[i]);
        shape += "]";
      }
      b += "<tr><td>" +
           esc(row.path + " (" + row.type + ")" + (row.calls > 1 ? " x" + std::to_string(row.calls) : "")) +
           "</td><td>" + shape + "</td><td>" + with_commas(row.params) + "</td><td>" + with_commas(row.macs) +
           "</td></tr>\n";
    }
    b += "<tr class=\"total\"><td>total, input " + std::to_string(m.input[2]) + "x" + std::to_string(m.input[3]) +
         "</td><td></td><td>" + with_commas(s.params) + " (" + nn::si_count(s.params) + ")</td><td>" +
         with_commas(s.macs) + " (" + nn::si_count(s.macs) + ")</td></tr></table>\n";
  }
  return section(
      "summary", "Model",
      "Each network's parts (depth 1 of `detgrad summary`): what they output for one input, their parameters "
      "and their multiply-adds (docs/summary.md has the counting rules).",
      b);
}

std::string pictures_of(const Run& r) {
  std::string b;
  const fs::path det = fs::path(r.dir) / "detections.png", maps = fs::path(r.dir) / "heatmaps.png";
  const json& val = r.config["val_data"];
  if (fs::exists(det)) {
    b += "<figure>" + img_tag("image/png", read_bytes(det.string()), "detections") +
         "<figcaption>predictions on the first validation scenes (score &ge; 0.3, class colours) and the ground "
         "truth (thin white boxes), from the end of the run</figcaption></figure>\n";
    if (fs::exists(maps))
      b += "<figure>" + img_tag("image/png", read_bytes(maps.string()), "score maps") +
           "<figcaption>the model's per-class score maps over the same scenes</figcaption></figure>\n";
  } else if (val.value("size", 0) > 0 || val.value("source", std::string()) != "fashion-scenes") {
    data::Dataset ds = data::open_dataset(TrainOptions::from_json(r.config, r.dir).val_data, data::Split::val);
    EvalOptions eo;
    eo.max_images = 8;
    std::shared_ptr<Evaluation> e = r.model.net->evaluate(r.model.info, ds, eo);
    std::vector<Tensor> pics;
    for (int64_t i = 0; i < e->pictures(); ++i) pics.push_back(e->picture(i, ds.get(i), r.model.info.class_names));
    b += "<figure>" + png_tag(tile_images(pics, 4, 4), "predictions") +
         "<figcaption>the model's predictions on the first 8 validation scenes (drawn for this "
         "report)</figcaption></figure>\n";
  }
  return b;
}

std::string explain_of(const Run& r) {
  ExplainOptions o;
  const json& val = r.config["val_data"];
  o.data = val.value("source", std::string("fashion-scenes"));
  if (o.data == "fashion-scenes") o.data.clear();
  o.preset = val.value("preset", std::string("small"));
  o.data_seed = val.value("seed", 0);
  o.scene = 0;
  o.out = scratch("_explain");
  std::string b;
  try {
    const ExplainResult x = explain_scene(r.model, o);
    for (const auto& p : x.pictures)
      b += "<figure>" + img_tag("image/png", read_bytes(p.path), "explain " + p.kind) + "<figcaption>" +
           esc(p.summary) + (p.own_config ? " (this model's configuration)" : " (that detector's CPU default)") +
           "</figcaption></figure>\n";
  } catch (const std::exception& e) {
    b += "<p class=\"note\">no explain pictures: " + esc(e.what()) + "</p>\n";
  }
  fs::remove_all(o.out);
  return b;
}

std::string pictures_section(const std::vector<Run>& runs, const ReportOptions& opt) {
  std::string b;
  if (!opt.pictures) b = "<p class=\"note\">(pictures left out)</p>\n";
  else
    for (const Run& r : runs) b += "<h3>" + esc(r.name) + "</h3>\n" + pictures_of(r) + explain_of(r);
  return section(
      "pictures", "Pictures",
      "What the model sees and does: its predictions on validation scenes, then how each detector assigns its "
      "training targets on the first validation scene (which points, anchors or peaks are positives).",
      b);
}

const char* kStyle =
    "body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:24px auto;max-width:1200px;color:#222}"
    "h1{font-size:24px}h2{font-size:19px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}"
    "h3{font-size:15px}p.what{color:#555;font-style:italic}p.note{color:#a33}"
    "table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;"
    "text-align:left}th{background:#f3f3f3}tr.total td{font-weight:bold}table.perclass{display:inline-table;"
    "margin-right:16px}.row{display:flex;flex-wrap:wrap;gap:12px}figure{display:inline-block;margin:8px;"
    "vertical-align:top;max-width:100%}figure img,.row img{max-width:100%}figcaption{font-size:12px;color:#444;"
    "max-width:560px}#selfcheck{font-size:11px;color:#888}";

// Runs after load: every <img> decoded, every section present, no script error; the verdict lands in
// #selfcheck (data-status "ok" or "failed: ...") for tests/tools/test_report_browser.cpp.
const char* kSelfCheck =
    "<script>\n(function(){var errors=[];window.addEventListener('error',function(e){errors.push('error: "
    "'+e.message);});"
    "window.addEventListener('load',function(){var imgs=document.images;for(var i=0;i<imgs.length;i++){"
    "if(!imgs[i].complete||imgs[i].naturalWidth===0)errors.push('broken image: '+imgs[i].alt);}"
    "['config','curves','eval','summary','pictures'].forEach(function(id){if(!document.getElementById(id))"
    "errors.push('missing section: '+id);});var s=document.getElementById('selfcheck');"
    "s.setAttribute('data-status',errors.length?'failed: '+errors.join('; '):'ok');"
    "s.textContent='self-check: '+(errors.length?errors.join('; '):imgs.length+' images decoded, 5 "
    "sections');});})();\n"
    "</script>\n";
}  // namespace

std::string run_report_html(const std::vector<std::string>& run_dirs, const ReportOptions& o) {
  check(!run_dirs.empty(), "report: give at least one run directory");
  std::vector<Run> runs;
  for (const std::string& d : run_dirs) runs.push_back(open_run(d));
  std::string names;
  for (const Run& r : runs) names += (names.empty() ? "" : ", ") + r.name;
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>detgrad report: " +
                  esc(names) + "</title><style>" + kStyle +
                  "</style></head><body>\n<h1>detgrad run report: " + esc(names) + "</h1>\n";
  h += config_section(runs) + curves_section(runs) + eval_section(runs) + summary_section(runs) +
       pictures_section(runs, o);
  h += "<p id=\"selfcheck\" data-status=\"pending\"></p>\n";
  h += kSelfCheck;
  h += "</body></html>\n";
  return h;
}

std::string write_run_report(const std::vector<std::string>& run_dirs, const std::string& out_path,
                             const ReportOptions& o) {
  const std::string html = run_report_html(run_dirs, o);
  const fs::path p(out_path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  io::write_file_atomic(out_path, std::vector<uint8_t>(html.begin(), html.end()), "report");
  return out_path;
}

}  // namespace dg::det
