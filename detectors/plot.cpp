// Line plots; see plot.h. Three steps: choose the axes (nice numbers), lay the frame out around the
// tick labels, then draw grid, frame, labels, lines and legend with plain pixel loops.
#include "detectors/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace dg::plot {

namespace {

constexpr Rgb kWhite{255, 255, 255}, kGrid{225, 225, 225}, kInk{40, 40, 40}, kFrameInk{90, 90, 90};
constexpr int64_t kPad = 8;   // empty margin at the image border
constexpr int64_t kTick = 4;  // tick mark length, outside the frame
constexpr int64_t kGap = 3;   // between a tick mark and its label, a label and the next text

// Is v a point we can draw? (plot.h: NaN/inf are gaps, and so is y <= 0 on a log axis.)
bool drawable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

// The smallest of 1, 2, 5, 10 x 10^k that is >= raw (raw > 0).
double nice_step(double raw) {
  const double base = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * base >= raw * (1 - 1e-9)) return m * base;
  return 10 * base;
}

std::string format(const char* fmt, double v, int decimals = 0) {
  char s[48];
  std::snprintf(s, sizeof s, fmt, decimals, v);
  return s;
}

}  // namespace

double Axis::fraction(double v) const {
  if (log) return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
  return (v - lo) / (hi - lo);
}

Axis nice_axis(double lo, double hi, int intervals, bool expand_lo, bool expand_hi) {
  check(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "nice_axis: need finite lo <= hi, got [", lo, ", ", hi,
        "]");
  check(intervals >= 1, "nice_axis: intervals must be >= 1, got ", intervals);
  if (lo == hi) {  // a flat series: give it some room, on the sides that may move
    check(expand_lo || expand_hi, "nice_axis: both sides pinned at ", lo);
    const double d = lo == 0 ? 1 : std::abs(lo) * 0.1;
    if (expand_lo) lo -= d;
    if (expand_hi) hi += d;
  }
  const double step = nice_step((hi - lo) / intervals);
  // Tick k sits at k * step (computed, not accumulated, so 0.6 stays 0.6 and not 0.6000000000000001).
  if (expand_lo) lo = std::floor(lo / step + 1e-9) * step;
  if (expand_hi) hi = std::ceil(hi / step - 1e-9) * step;
  Axis a;
  a.lo = lo, a.hi = hi;
  const double k0 = std::ceil(lo / step - 1e-9), k1 = std::floor(hi / step + 1e-9);
  // (At most 100 ticks: for a range of a few ulps around 1e17, k itself would lose its integer steps.)
  for (int i = 0; k0 + i <= k1 && i < 100; ++i) a.ticks.push_back(k0 + i == 0 ? 0.0 : (k0 + i) * step);
  // As many decimals as the step needs: 0.2 -> 1, 0.05 -> 2, 5 -> 0; %g for huge or tiny numbers.
  const double biggest = std::max(std::abs(lo), std::abs(hi));
  const int decimals = std::max(0, -(int)std::floor(std::log10(step) + 1e-9));
  for (double t : a.ticks)
    a.labels.push_back(biggest >= 1e6 || step < 1e-4 ? format("%.*g", t, 4) : format("%.*f", t, decimals));
  return a;
}

Axis log_axis(double lo, double hi, bool expand_lo, bool expand_hi) {
  check(std::isfinite(lo) && std::isfinite(hi) && lo > 0 && lo <= hi, "log_axis: need finite 0 < lo <= hi, got [", lo,
        ", ", hi, "]");
  double a = std::log10(lo), b = std::log10(hi);  // the axis works in decades
  if (expand_lo) a = std::floor(a + 1e-9);
  if (expand_hi) b = std::ceil(b - 1e-9);
  if (b - a < 1e-12) {
    check(expand_lo || expand_hi, "log_axis: both sides pinned at ", lo);
    if (expand_hi) b += 1;
    else a -= 1;
  }
  Axis ax;
  ax.log = true;
  ax.lo = expand_lo ? std::pow(10.0, a) : lo;
  ax.hi = expand_hi ? std::pow(10.0, b) : hi;
  const int k0 = (int)std::ceil(a - 1e-9), k1 = (int)std::floor(b + 1e-9);
  const int every = std::max(1, (k1 - k0 + 1 + 7) / 8);  // at most 8 powers of ten get a tick
  const bool few_decades = b - a <= 2 + 1e-9;            // then 2 and 5 x 10^k get ticks too
  for (int k = (int)std::floor(a) - 1; k <= (int)std::ceil(b); ++k) {
    for (double m : {1.0, 2.0, 5.0}) {
      if (m != 1 && !few_decades) continue;
      if (m == 1 && k % every != 0) continue;
      const double t = m * std::pow(10.0, k);
      if (t >= ax.lo * (1 - 1e-9) && t <= ax.hi * (1 + 1e-9)) ax.ticks.push_back(t);
    }
  }
  for (double t : ax.ticks) ax.labels.push_back(format("%.*g", t, 3));
  return ax;
}

std::vector<double> moving_average(const std::vector<double>& y, int window, bool log) {
  check(window >= 0, "moving_average: window must be >= 0, got ", window);
  const int64_t n = (int64_t)y.size(), half = window / 2;
  // Prefix sums over the drawable values: sum[i] and count[i] cover y[0..i-1], so any window costs O(1).
  std::vector<double> sum(y.size() + 1, 0.0);
  std::vector<int64_t> count(y.size() + 1, 0);
  for (int64_t i = 0; i < n; ++i) {
    const bool ok = drawable(y[i], log);
    sum[i + 1] = sum[i] + (ok ? y[i] : 0.0);
    count[i + 1] = count[i] + ok;
  }
  std::vector<double> out(y.size(), NAN);
  for (int64_t i = 0; i < n; ++i) {
    if (!drawable(y[i], log)) continue;
    const int64_t a = std::max<int64_t>(0, i - half), b = std::min(n, i + half + 1);  // window [a, b)
    out[i] = (sum[b] - sum[a]) / (double)(count[b] - count[a]);
  }
  return out;
}

double Frame::col(double vx) const { return x0 + x.fraction(vx) * (x1 - x0); }
double Frame::row(double vy) const { return y1 - y.fraction(vy) * (y1 - y0); }

Frame plot_frame(const std::vector<Series>& series, const PlotOptions& o) {
  check(o.width >= 160 && o.height >= 140 && o.width <= 8192 && o.height <= 8192,
        "line_plot: the image must be 160x140 to 8192x8192 pixels, got ", o.width, "x", o.height);
  check(o.smooth >= 0, "line_plot: smooth must be >= 0, got ", o.smooth);
  for (size_t i = 0; i < series.size(); ++i)
    check(series[i].x.size() == series[i].y.size(), "line_plot: series ", i, " '", series[i].label, "': x has ",
          series[i].x.size(), " values but y has ", series[i].y.size());
  auto check_pins = [](const std::optional<double>& lo, const std::optional<double>& hi, const char* name, bool log) {
    for (const auto& p : {lo, hi})
      check(!p || (std::isfinite(*p) && (!log || *p > 0)), "line_plot: ", name, " range bound ", p.value_or(0),
            log ? " must be finite and > 0 on a log axis" : " must be finite");
    check(!lo || !hi || *lo < *hi, "line_plot: empty ", name, " range [", lo.value_or(0), ", ", hi.value_or(0), "]");
  };
  check_pins(o.x_min, o.x_max, "x", false);
  check_pins(o.y_min, o.y_max, "y", o.log_y);

  // The data range over the drawable points, then the pinned sides.
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size(); ++i)
      if (drawable(s.x[i], false) && drawable(s.y[i], o.log_y)) {
        xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
        ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
      }
  if (xlo > xhi) xlo = 0, xhi = 1;  // nothing to draw: a default frame
  if (ylo > yhi) ylo = o.log_y ? 1 : 0, yhi = o.log_y ? 10 : 1;
  auto pin = [](double& lo, double& hi, const std::optional<double>& pl, const std::optional<double>& ph) {
    if (pl) lo = *pl, hi = std::max(hi, lo);  // a pin beyond all the data drags the other side along
    if (ph) hi = *ph, lo = std::min(lo, hi);
  };
  pin(xlo, xhi, o.x_min, o.x_max);
  pin(ylo, yhi, o.y_min, o.y_max);

  Frame f;
  f.width = o.width, f.height = o.height;
  // About one x tick per 110 pixels and one y tick per 70.
  f.x = nice_axis(xlo, xhi, std::clamp(o.width / 110, 2, 10), !o.x_min, !o.x_max);
  f.y = o.log_y ? log_axis(ylo, yhi, !o.y_min, !o.y_max)
                : nice_axis(ylo, yhi, std::clamp(o.height / 70, 2, 10), !o.y_min, !o.y_max);

  // Margins: room for the tick labels, the title (scale 2) and the axis labels, and the frame line.
  int64_t ylabel_w = 0;
  for (const std::string& l : f.y.labels) ylabel_w = std::max(ylabel_w, text_width(l));
  const int64_t last_xlabel_w = f.x.labels.empty() ? 0 : text_width(f.x.labels.back());
  const int64_t title_h = o.title.empty() ? 0 : title_height() + kGap;
  const int64_t ytitle_h = o.ylabel.empty() ? 0 : text_height() + kGap;
  const int64_t xtitle_h = o.xlabel.empty() ? 0 : text_height() + kGap;
  f.x0 = kPad + ylabel_w + kGap + kTick + 1;
  f.y0 = kPad + title_h + ytitle_h + text_height() / 2 + 1;  // the top tick label sticks up half a line
  f.x1 = o.width - 1 - (kPad + last_xlabel_w / 2 + 1);
  f.y1 = o.height - 1 - (1 + kTick + kGap + text_height() + xtitle_h + kPad);
  check(f.x1 - f.x0 >= 40 && f.y1 - f.y0 >= 40, "line_plot: ", o.width, "x", o.height,
        " leaves no room for the data next to the labels (", f.x1 - f.x0 + 1, "x", f.y1 - f.y0 + 1, " pixels)");
  return f;
}

namespace {

// The image plus the rectangle lines may touch; every write is clipped to it.
struct Canvas {
  Tensor& image;
  int64_t cx0, cy0, cx1, cy1;

  void put(int64_t x, int64_t y, Rgb c) {
    if (x < cx0 || x > cx1 || y < cy0 || y > cy1) return;
    uint8_t* q = image.data<uint8_t>() + (y * image.size(1) + x) * 3;
    q[0] = c.r, q[1] = c.g, q[2] = c.b;
  }
  // A t x t square whose top-left pixel is (x - (t-1)/2, y - (t-1)/2): t = 1 is the pixel itself,
  // t = 2 adds the pixels to the right and below.
  void square(int64_t x, int64_t y, int t, Rgb c) {
    for (int64_t dy = -(t - 1) / 2; dy <= t / 2; ++dy)
      for (int64_t dx = -(t - 1) / 2; dx <= t / 2; ++dx) put(x + dx, y + dy, c);
  }

  // Segment (ax, ay) - (bx, by) in pixel coordinates: first clipped to the rectangle (Liang-Barsky, so
  // a point far outside costs nothing), then Bresenham's line between the rounded end points.
  void line(double ax, double ay, double bx, double by, int t, Rgb c) {
    double t0 = 0, t1 = 1;
    const double dx = bx - ax, dy = by - ay;
    auto inside = [&](double p, double q) {  // keep the part where p * t <= q
      if (p == 0) return q >= 0;
      const double r = q / p;
      if (p < 0) {
        if (r > t1) return false;
        t0 = std::max(t0, r);
      } else {
        if (r < t0) return false;
        t1 = std::min(t1, r);
      }
      return true;
    };
    const double xmin = cx0 - 0.5, xmax = cx1 + 0.5, ymin = cy0 - 0.5, ymax = cy1 + 0.5;
    if (!(inside(-dx, ax - xmin) && inside(dx, xmax - ax) && inside(-dy, ay - ymin) && inside(dy, ymax - ay))) return;
    int64_t x = std::llround(ax + t0 * dx), y = std::llround(ay + t0 * dy);
    const int64_t xe = std::llround(ax + t1 * dx), ye = std::llround(ay + t1 * dy);
    const int64_t sx = x < xe ? 1 : -1, sy = y < ye ? 1 : -1;
    const int64_t ex = std::abs(xe - x), ey = -std::abs(ye - y);
    int64_t err = ex + ey;  // Bresenham, all octants: err tracks the distance to the ideal line
    while (true) {
      square(x, y, t, c);
      if (x == xe && y == ye) break;
      const int64_t e2 = 2 * err;
      if (e2 >= ey) err += ey, x += sx;
      if (e2 <= ex) err += ex, y += sy;
    }
  }
};

// Mixes colour c with white: the faint raw curve under a smoothed one.
Rgb faint(Rgb c) {
  auto mix = [](uint8_t v) { return (uint8_t)std::lround(0.35 * v + 0.65 * 255); };
  return {mix(c.r), mix(c.g), mix(c.b)};
}

// One curve: segments between neighbouring drawable points, a dot where a point has no drawable
// neighbour, and squares on every point when asked.
void draw_curve(Canvas& cv, const Frame& f, const std::vector<double>& xs, const std::vector<double>& ys, bool log_y,
                int thickness, bool points, Rgb c) {
  const size_t n = xs.size();
  std::vector<double> px(n), py(n);
  std::vector<bool> ok(n);
  for (size_t i = 0; i < n; ++i) {
    ok[i] = drawable(xs[i], false) && drawable(ys[i], log_y);
    if (!ok[i]) continue;
    px[i] = f.col(xs[i]), py[i] = f.row(ys[i]);
    ok[i] = std::isfinite(px[i]) && std::isfinite(py[i]);  // 1e308 on a tiny axis overflows: a gap too
  }
  for (size_t i = 0; i < n; ++i) {
    if (!ok[i]) continue;
    const bool prev = i > 0 && ok[i - 1], next = i + 1 < n && ok[i + 1];
    if (prev) cv.line(px[i - 1], py[i - 1], px[i], py[i], thickness, c);
    if (!prev && !next) cv.square(std::llround(px[i]), std::llround(py[i]), thickness + 1, c);
    if (points) cv.square(std::llround(px[i]), std::llround(py[i]), 5, c);
  }
}

// The legend box: a line sample and the label per labelled series, in the corner of the data area that
// covers the fewest already-drawn curve pixels.
void draw_legend(Tensor& img, const Frame& f, const std::vector<Series>& series) {
  std::vector<size_t> shown;
  int64_t text_w = 0;
  for (size_t i = 0; i < series.size(); ++i)
    if (!series[i].label.empty()) shown.push_back(i), text_w = std::max(text_w, text_width(series[i].label));
  if (shown.empty()) return;
  const int64_t sample = 18, row_h = text_height() + 4;
  const int64_t w = 6 + sample + 5 + text_w + 4, h = 4 + (int64_t)shown.size() * row_h;
  const int64_t inset = 6;
  const int64_t lx[2] = {f.x1 - inset - w + 1, f.x0 + inset}, ly[2] = {f.y0 + inset, f.y1 - inset - h + 1};
  // Candidates in order of preference: top-right, top-left, bottom-right, bottom-left.
  const uint8_t* p = img.data<uint8_t>();
  int64_t best_x = lx[0], best_y = ly[0], best = -1;
  for (int64_t cy : ly)
    for (int64_t cx : lx) {
      int64_t covered = 0;
      for (int64_t y = std::max(cy, f.y0); y < std::min(cy + h, f.y1 + 1); ++y)
        for (int64_t x = std::max(cx, f.x0); x < std::min(cx + w, f.x1 + 1); ++x) {
          const uint8_t* q = p + (y * f.width + x) * 3;
          const bool background = (q[0] == q[1] && q[1] == q[2]) && (q[0] == kWhite.r || q[0] == kGrid.r);
          covered += !background;
        }
      if (best < 0 || covered < best) best = covered, best_x = cx, best_y = cy;
    }
  fill_rect(img, best_x, best_y, best_x + w, best_y + h, kWhite);
  draw_box(img, best_x, best_y, best_x + w, best_y + h, Rgb{160, 160, 160}, 1);
  Canvas cv{img, 0, 0, f.width - 1, f.height - 1};
  for (size_t k = 0; k < shown.size(); ++k) {
    const Series& s = series[shown[k]];
    const Rgb c = s.color.value_or(class_color((int64_t)shown[k]));
    const int64_t top = best_y + 3 + (int64_t)k * row_h, mid = top + text_height() / 2;
    cv.line(best_x + 6, mid, best_x + 6 + sample - 1, mid, 2, c);
    draw_text(img, best_x + 6 + sample + 5, top, s.label, kInk);
  }
}

}  // namespace

Tensor line_plot(const std::vector<Series>& series, const PlotOptions& o) {
  const Frame f = plot_frame(series, o);
  Tensor img = Tensor::empty({f.height, f.width, 3}, DType::u8);
  fill_rect(img, 0, 0, f.width, f.height, kWhite);

  // Grid, frame (one pixel outside the data area), tick marks and tick labels.
  std::vector<int64_t> xcols, yrows;
  for (double t : f.x.ticks) xcols.push_back(std::llround(f.col(t)));
  for (double t : f.y.ticks) yrows.push_back(std::llround(f.row(t)));
  for (int64_t c : xcols) fill_rect(img, c, f.y0, c + 1, f.y1 + 1, kGrid);
  for (int64_t r : yrows) fill_rect(img, f.x0, r, f.x1 + 1, r + 1, kGrid);
  draw_box(img, f.x0 - 1, f.y0 - 1, f.x1 + 2, f.y1 + 2, kFrameInk, 1);
  const int64_t glyph_mid = text_height() / 2;  // a line's middle row, for centring text on a tick
  for (size_t i = 0; i < xcols.size(); ++i) {
    fill_rect(img, xcols[i], f.y1 + 2, xcols[i] + 1, f.y1 + 2 + kTick, kFrameInk);
    draw_text(img, xcols[i] - text_width(f.x.labels[i]) / 2, f.y1 + 2 + kTick + kGap, f.x.labels[i], kInk);
  }
  for (size_t i = 0; i < yrows.size(); ++i) {
    fill_rect(img, f.x0 - 1 - kTick, yrows[i], f.x0 - 1, yrows[i] + 1, kFrameInk);
    draw_text(img, f.x0 - 1 - kTick - kGap - text_width(f.y.labels[i]), yrows[i] - glyph_mid, f.y.labels[i], kInk);
  }

  // Title centred over the data area; the y label above the axis, the x label centred below.
  const int64_t mid_x = (f.x0 + f.x1) / 2;
  if (!o.title.empty()) draw_title(img, mid_x - title_width(o.title) / 2, kPad, o.title, kInk);
  if (!o.ylabel.empty()) draw_text(img, kPad, kPad + (o.title.empty() ? 0 : title_height() + kGap), o.ylabel, kInk);
  if (!o.xlabel.empty())
    draw_text(img, mid_x - text_width(o.xlabel) / 2, f.y1 + 2 + kTick + kGap + text_height() + kGap, o.xlabel, kInk);

  // The curves, clipped to the data area.
  Canvas cv{img, f.x0, f.y0, f.x1, f.y1};
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const Rgb c = s.color.value_or(class_color((int64_t)i));
    if (o.smooth > 1) {
      draw_curve(cv, f, s.x, s.y, o.log_y, 1, false, faint(c));
      draw_curve(cv, f, s.x, moving_average(s.y, o.smooth, o.log_y), o.log_y, 2, s.points, c);
    } else {
      draw_curve(cv, f, s.x, s.y, o.log_y, 2, s.points, c);
    }
  }
  draw_legend(img, f, series);
  return img;
}

Tensor tile_plots(const std::vector<Tensor>& plots, int64_t cols) {
  return tile_images(plots, cols == 0 ? (int64_t)std::max<size_t>(1, plots.size()) : cols, 0, kWhite);
}

}  // namespace dg::plot
