// Line plots as images: loss curves and mAP curves (`detgrad plot`, the trainer's loss-curve PNG).
//
// line_plot draws series of (x, y) points into a u8 [H, W, 3] image (save it with io::save_png):
// white background, a frame with "nice" ticks (steps of 1, 2 or 5 times a power of ten) and their
// labels, light grey grid lines, a title, axis labels and a legend, all with the 5x7 font of
// detectors/draw.h. Lines are plain Bresenham lines (no antialiasing), 1 or 2 pixels thick.
//
// Conventions:
// - Points are joined in the order given (sort by x yourself if it matters).
// - A NaN or infinite x or y -- and, on a log axis, a y <= 0 -- is a missing point: the line has a
//   gap there. A point with no drawable neighbour is drawn as a dot.
// - The axis range is the data range widened to the nearest ticks ("loose" labelling, Heckbert,
//   "Nice numbers for graph labels", Graphics Gems 1990), unless x_min/x_max/y_min/y_max pin a side.
//   Data outside a pinned range is clipped at the frame.
// - Pixel rows grow downwards: the frame maps y = axis.lo to its bottom row and axis.hi to its top row.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/draw.h"

namespace dg::plot {

struct Series {
  // ({} initialisers: Series{"loss"} with the rest left out compiles without -Wextra warnings.)
  std::string label{};           // legend text; an empty label keeps the series out of the legend
  std::vector<double> x{}, y{};  // same length
  std::optional<Rgb> color{};    // default: class_color(index of the series)
  bool points = false;           // also mark every point with a small square
};

struct PlotOptions {
  std::string title, xlabel, ylabel;
  int width = 640, height = 400;                     // of the whole image, pixels
  bool log_y = false;                                // log10 y axis; ticks at powers of ten
  std::optional<double> x_min, x_max, y_min, y_max;  // pin a side of an axis
  // > 1: also draw the centred moving average over `smooth` points as a thick line, the raw series
  // faint and thin underneath (what TensorBoard's smoothing slider shows, without its lag).
  int smooth = 0;
};

// One axis: its range, where the ticks go and what they say.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks;        // values inside [lo, hi], increasing
  std::vector<std::string> labels;  // one per tick
  // Where v sits between lo (0) and hi (1), linearly or in log10 space.
  double fraction(double v) const;
};

// A linear axis covering [lo, hi] with about `intervals` steps of 1, 2 or 5 x 10^k. `expand_lo` /
// `expand_hi` widen that side to the next tick (off: the side stays where it is, pinned). A zero-width
// range [v, v] is first widened to v +- 10% (+-1 when v is 0).
// Examples: [0, 1] -> ticks 0, 0.2, ..., 1; [0.013, 0.87] -> [0, 1] with the same ticks.
Axis nice_axis(double lo, double hi, int intervals = 5, bool expand_lo = true, bool expand_hi = true);
// A log10 axis over [lo, hi] (both > 0), widened to whole decades unless pinned; ticks at powers of
// ten (every k-th one when there would be more than 8), plus 2 and 5 x 10^k over at most 2 decades.
Axis log_axis(double lo, double hi, bool expand_lo = true, bool expand_hi = true);

// The centred moving average of y over `window` points (window/2 on each side, fewer at the ends);
// missing values (see above; `log` = the axis is logarithmic) are skipped and stay missing.
std::vector<double> moving_average(const std::vector<double>& y, int window, bool log = false);

// Where everything goes: the data area (pixels x0..x1, y0..y1 inclusive; the frame is drawn just
// outside it) and the two axes. line_plot draws exactly this layout.
struct Frame {
  int64_t width = 0, height = 0;
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  Axis x, y;
  double col(double vx) const;  // pixel column of a data x (not rounded, not clipped)
  double row(double vy) const;  // pixel row of a data y
};
Frame plot_frame(const std::vector<Series>& series, const PlotOptions& options);

// The plot as a u8 [height, width, 3] image. Errors (dg::Error, "line_plot: ..."): x and y of different
// lengths (naming the series), an image smaller than 160x140 or larger than 8192 on a side, a pinned
// range that is empty or (log) not positive, smooth < 0.
Tensor line_plot(const std::vector<Series>& series, const PlotOptions& options = {});

// Several plots in a grid of `cols` columns (0: all in one row) on white: tile_images without the gaps.
Tensor tile_plots(const std::vector<Tensor>& plots, int64_t cols = 0);

}  // namespace dg::plot
