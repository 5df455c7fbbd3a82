// Line plots as SVG: the same layout as line_plot (plot.h: plot_frame's data area, ticks and labels,
// grid, title, axis labels, legend, smoothing), written as vector text for the browser and for print.
// The run report and `detgrad plot` write it beside the PNG.
#pragma once
#include <string>
#include <vector>

#include "detectors/plot.h"

namespace dg::plot {

// s with & < > " written as entities: text for SVG and HTML.
std::string xml_escape(const std::string& s);

// A standalone SVG document (UTF-8 text), width x height user units; the same errors as line_plot.
std::string line_plot_svg(const std::vector<Series>& series, const PlotOptions& options = {});

// Writes PATH.png (line_plot) and the same plot as PATH.svg beside it (path ends in .png), both
// atomically. Returns the SVG's path.
std::string save_plot(const std::string& png_path, const std::vector<Series>& series, const PlotOptions& options);

}  // namespace dg::plot
