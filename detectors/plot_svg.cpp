// Line plots as SVG (see plot_svg.h): plot_frame decides where everything goes, this file only
// writes it as SVG elements instead of pixels.
#include "detectors/plot_svg.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "autograd/error.h"
#include "autograd/io/image.h"
#include "autograd/io/safetensors.h"

namespace dg::plot {

std::string xml_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '&') r += "&amp;";
    else if (c == '<') r += "&lt;";
    else if (c == '>') r += "&gt;";
    else if (c == '"') r += "&quot;";
    else r += c;
  }
  return r;
}

namespace {
std::string esc(const std::string& s) { return xml_escape(s); }

std::string rgb(Rgb c) {
  char b[16];
  std::snprintf(b, sizeof b, "#%02x%02x%02x", c.r, c.g, c.b);
  return b;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

std::string text(double x, double y, const std::string& s, const char* anchor, double size, const char* extra = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\" font-size=\"" + num(size) +
         "\"" + extra + ">" + esc(s) + "</text>\n";
}

// One polyline per run of drawable points (a missing point breaks the line).
std::string curve(const Frame& f, const std::vector<double>& xs, const std::vector<double>& ys, bool log_y,
                  double width, Rgb c, bool points) {
  std::string out, run;
  int in_run = 0;
  auto flush = [&] {
    if (in_run > 1)
      out += "<polyline fill=\"none\" stroke=\"" + rgb(c) + "\" stroke-width=\"" + num(width) +
             "\" stroke-linejoin=\"round\" points=\"" + run + "\"/>\n";
    else if (in_run == 1)
      out += "<circle r=\"" + num(width) + "\" fill=\"" + rgb(c) + "\" cx=\"" + run.substr(0, run.find(',')) +
             "\" cy=\"" + run.substr(run.find(',') + 1, run.find(' ') - run.find(',') - 1) + "\"/>\n";
    run.clear(), in_run = 0;
  };
  for (size_t i = 0; i < xs.size(); ++i) {
    const bool ok = std::isfinite(xs[i]) && std::isfinite(ys[i]) && (!log_y || ys[i] > 0);
    if (!ok) {
      flush();
      continue;
    }
    const double px = f.col(xs[i]), py = f.row(ys[i]);
    run += num(px) + "," + num(py) + " ";
    ++in_run;
    if (points)
      out += "<rect x=\"" + num(px - 2.5) + "\" y=\"" + num(py - 2.5) + "\" width=\"5\" height=\"5\" fill=\"" + rgb(c) +
             "\"/>\n";
  }
  flush();
  return out;
}
}  // namespace

std::string line_plot_svg(const std::vector<Series>& series, const PlotOptions& o) {
  const Frame f = plot_frame(series, o);
  const double fs = 11, ts = 15, pad = 8;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(f.width) + "\" height=\"" +
                  std::to_string(f.height) + "\" viewBox=\"0 0 " + std::to_string(f.width) + " " +
                  std::to_string(f.height) + "\" font-family=\"DejaVu Sans, Verdana, sans-serif\" fill=\"#282828\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  const double l = f.x0 - 0.5, r = f.x1 + 0.5, t = f.y0 - 0.5, b = f.y1 + 0.5;
  for (size_t i = 0; i < f.x.ticks.size(); ++i) {
    const double c = f.col(f.x.ticks[i]);
    s += "<line x1=\"" + num(c) + "\" y1=\"" + num(t) + "\" x2=\"" + num(c) + "\" y2=\"" + num(b) +
         "\" stroke=\"#e1e1e1\"/>\n";
    s += "<line x1=\"" + num(c) + "\" y1=\"" + num(b) + "\" x2=\"" + num(c) + "\" y2=\"" + num(b + 4) +
         "\" stroke=\"#5a5a5a\"/>\n";
    s += text(c, b + 6 + fs, f.x.labels[i], "middle", fs);
  }
  for (size_t i = 0; i < f.y.ticks.size(); ++i) {
    const double rw = f.row(f.y.ticks[i]);
    s += "<line x1=\"" + num(l) + "\" y1=\"" + num(rw) + "\" x2=\"" + num(r) + "\" y2=\"" + num(rw) +
         "\" stroke=\"#e1e1e1\"/>\n";
    s += "<line x1=\"" + num(l - 4) + "\" y1=\"" + num(rw) + "\" x2=\"" + num(l) + "\" y2=\"" + num(rw) +
         "\" stroke=\"#5a5a5a\"/>\n";
    s += text(l - 6, rw + fs * 0.35, f.y.labels[i], "end", fs);
  }
  s += "<rect x=\"" + num(l) + "\" y=\"" + num(t) + "\" width=\"" + num(r - l) + "\" height=\"" + num(b - t) +
       "\" fill=\"none\" stroke=\"#5a5a5a\"/>\n";
  const double mid = (f.x0 + f.x1) / 2.0;
  if (!o.title.empty()) s += text(mid, pad + ts, o.title, "middle", ts);
  if (!o.ylabel.empty()) s += text(pad, pad + (o.title.empty() ? 0 : ts + 6) + fs, o.ylabel, "start", fs);
  if (!o.xlabel.empty()) s += text(mid, b + 6 + 2 * fs + 6, o.xlabel, "middle", fs);
  s += "<defs><clipPath id=\"data\"><rect x=\"" + num(l) + "\" y=\"" + num(t) + "\" width=\"" + num(r - l) +
       "\" height=\"" + num(b - t) + "\"/></clipPath></defs>\n<g clip-path=\"url(#data)\">\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& se = series[i];
    const Rgb c = se.color.value_or(class_color((int64_t)i));
    if (o.smooth > 1) {
      const Rgb pale{(uint8_t)std::lround(0.35 * c.r + 0.65 * 255), (uint8_t)std::lround(0.35 * c.g + 0.65 * 255),
                     (uint8_t)std::lround(0.35 * c.b + 0.65 * 255)};
      s += curve(f, se.x, se.y, o.log_y, 1, pale, false);
      s += curve(f, se.x, moving_average(se.y, o.smooth, o.log_y), o.log_y, 2, c, se.points);
    } else {
      s += curve(f, se.x, se.y, o.log_y, 2, c, se.points);
    }
  }
  s += "</g>\n";
  // The legend, top-right inside the data area.
  std::vector<size_t> shown;
  size_t longest = 0;
  for (size_t i = 0; i < series.size(); ++i)
    if (!series[i].label.empty()) shown.push_back(i), longest = std::max(longest, series[i].label.size());
  if (!shown.empty()) {
    const double row = fs + 5, w = 6 + 18 + 5 + 0.62 * fs * (double)longest + 6, h = 4 + row * (double)shown.size();
    const double x = r - 6 - w, y = t + 6;
    s += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) +
         "\" fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#a0a0a0\"/>\n";
    for (size_t k = 0; k < shown.size(); ++k) {
      const Series& se = series[shown[k]];
      const Rgb c = se.color.value_or(class_color((int64_t)shown[k]));
      const double cy = y + 3 + row * (double)k + row / 2;
      s += "<line x1=\"" + num(x + 6) + "\" y1=\"" + num(cy) + "\" x2=\"" + num(x + 24) + "\" y2=\"" + num(cy) +
           "\" stroke=\"" + rgb(c) + "\" stroke-width=\"2\"/>\n";
      s += text(x + 29, cy + fs * 0.35, se.label, "start", fs);
    }
  }
  s += "</svg>\n";
  return s;
}

std::string save_plot(const std::string& png_path, const std::vector<Series>& series, const PlotOptions& options) {
  std::filesystem::path svg(png_path);
  check(svg.extension() == ".png", "save_plot: the picture's path must end in .png, got ", png_path);
  svg.replace_extension(".svg");
  io::save_png(png_path, line_plot(series, options));
  const std::string text = line_plot_svg(series, options);
  io::write_file_atomic(svg.string(), std::vector<uint8_t>(text.begin(), text.end()), "save_plot");
  return svg.string();
}

}  // namespace dg::plot
