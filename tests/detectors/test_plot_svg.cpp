// Line plots as SVG (detectors/plot_svg.h): well-formed, the same layout as the PNG (ticks, labels,
// title, legend), one polyline per run of drawable points, text escaped; save_plot writes both files.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "autograd/io/image.h"
#include "detectors/plot_svg.h"

using namespace dg;
using namespace dg::plot;

TEST_CASE("line_plot_svg: layout, gaps, escaping") {
  PlotOptions o;
  o.title = "loss <train> & \"val\"";
  o.xlabel = "images seen";
  o.ylabel = "loss";
  o.y_min = 0, o.y_max = 1;
  const double nan = std::nan("");
  const std::vector<Series> s = {Series{"train", {0, 1, 2, 3, 4}, {0.9, 0.5, nan, 0.3, 0.2}},
                                 Series{"", {0, 4}, {0.5, 0.5}}};
  const std::string svg = line_plot_svg(s, o);
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"400\"", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find("loss &lt;train&gt; &amp; &quot;val&quot;") != std::string::npos);
  // The NaN splits the first series in two runs; the second series is one more line.
  CHECK(count_of(svg, "<polyline") == 3);
  // Every tick label of the frame is there, as in the PNG.
  const Frame f = plot_frame(s, o);
  for (const std::string& l : f.x.labels) CHECK(svg.find(">" + l + "</text>") != std::string::npos);
  for (const std::string& l : f.y.labels) CHECK(svg.find(">" + l + "</text>") != std::string::npos);
  CHECK(count_of(svg, ">train</text>") == 1);  // the legend lists only labelled series
  CHECK_THROWS_WITH_PART(line_plot_svg({Series{"a", {1, 2}, {1}}}, o), "x has 2 values but y has 1");
}

TEST_CASE("save_plot: the PNG and the SVG beside it") {
  const std::string dir = fresh_temp_dir("plot_svg", "save");
  const std::string svg = save_plot(dir + "/ap.png", {Series{"AP50", {0, 1}, {0.1, 0.4}}}, {});
  CHECK(svg == dir + "/ap.svg");
  CHECK(io::load_image(dir + "/ap.png").size(1) == 640);
  CHECK(read_text(svg).find(">AP50</text>") != std::string::npos);
  CHECK_THROWS_WITH_PART(save_plot(dir + "/ap.jpg", {}, {}), "must end in .png");
}
