// Line plots (detectors/plot.h) and their JSON-lines input (detectors/plot_jsonl.h): nice ticks, where
// a curve's pixels land, gaps, dots, log axes, smoothing, the legend's corner, errors.
#include <doctest/doctest.h>

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "detectors/plot.h"
#include "detectors/plot_jsonl.h"
#include "tests/support.h"

using namespace dg;
using namespace dg::plot;

namespace {
const Rgb kRed{255, 0, 0};

bool is(const Tensor& img, int64_t y, int64_t x, Rgb c) {
  const uint8_t* p = img.data<uint8_t>() + (y * img.size(1) + x) * 3;
  return p[0] == c.r && p[1] == c.g && p[2] == c.b;
}
// Pixels of colour c inside (inside = true) or outside the frame's data area.
int64_t count_in(const Tensor& img, const Frame& f, Rgb c, bool inside = true) {
  int64_t n = 0;
  for (int64_t y = 0; y < img.size(0); ++y)
    for (int64_t x = 0; x < img.size(1); ++x) {
      const bool in = x >= f.x0 && x <= f.x1 && y >= f.y0 && y <= f.y1;
      n += in == inside && is(img, y, x, c);
    }
  return n;
}
Series red(std::vector<double> x, std::vector<double> y) { return Series{"", std::move(x), std::move(y), kRed}; }

void check_ticks(const Axis& a, const std::vector<double>& want,
                 std::source_location loc = std::source_location::current()) {
  check_close(a.ticks, want, 1e-12, "ticks", ErrorScale::element, loc);
}
}  // namespace

TEST_CASE("nice_axis: 1-2-5 steps, widened to the ticks around the data") {
  Axis a = nice_axis(0, 1);
  CHECK(a.lo == 0);
  CHECK(a.hi == 1);
  check_ticks(a, {0, 0.2, 0.4, 0.6, 0.8, 1});
  CHECK(a.labels[3] == "0.6");  // k * step, not 0.2 + 0.2 + 0.2 = 0.6000000000000001
  CHECK(a.labels[0] == "0.0");

  // [0.013, 0.87]: 0.857 / 5 = 0.17 -> step 0.2, widened to [0, 1].
  a = nice_axis(0.013, 0.87);
  CHECK(a.lo == 0);
  CHECK(a.hi == doctest::Approx(1.0));
  check_ticks(a, {0, 0.2, 0.4, 0.6, 0.8, 1});
  // Pinned on both sides: the range stays, only the ticks inside it are kept.
  a = nice_axis(0.013, 0.87, 5, false, false);
  CHECK(a.lo == 0.013);
  CHECK(a.hi == 0.87);
  check_ticks(a, {0.2, 0.4, 0.6, 0.8});

  // Degenerate [3, 3]: widened by 10% to [2.7, 3.3], 0.6 / 5 = 0.12 -> step 0.2, then to [2.6, 3.4].
  a = nice_axis(3, 3);
  CHECK(a.lo == doctest::Approx(2.6));
  CHECK(a.hi == doctest::Approx(3.4));
  check_ticks(a, {2.6, 2.8, 3.0, 3.2, 3.4});
  // [0, 0] -> [-1, 1], step 2 / 5 = 0.4 -> 0.5; the middle tick is exactly 0 (no "-0.0").
  a = nice_axis(0, 0);
  check_ticks(a, {-1, -0.5, 0, 0.5, 1});
  CHECK(a.labels[2] == "0.0");

  // Large numbers: 123456 / 5 = 24691 -> step 50000, labels without decimals.
  a = nice_axis(0, 123456);
  check_ticks(a, {0, 50000, 100000, 150000});
  CHECK(a.labels.back() == "150000");
  // Millions switch to %g.
  CHECK(nice_axis(0, 3.2e6).labels.back() == "4e+06");

  CHECK(error_of([] { nice_axis(1, 0); }).find("nice_axis: need finite lo <= hi") != std::string::npos);
  CHECK(error_of([] { nice_axis(0, NAN); }).find("nice_axis") != std::string::npos);
}

TEST_CASE("log_axis: whole decades, powers of ten, 1-2-5 over one or two decades") {
  Axis a = log_axis(1e-3, 10);
  CHECK(a.log);
  CHECK(a.lo == doctest::Approx(1e-3));
  CHECK(a.hi == doctest::Approx(10));
  check_ticks(a, {1e-3, 1e-2, 0.1, 1, 10});
  CHECK(a.labels == std::vector<std::string>{"0.001", "0.01", "0.1", "1", "10"});
  CHECK(a.fraction(0.1) == doctest::Approx(0.5));  // two decades of four

  // Inside one decade: [2, 8] -> [1, 10] with 1, 2, 5, 10; two decades get them too, three do not.
  check_ticks(log_axis(2, 8), {1, 2, 5, 10});
  check_ticks(log_axis(0.1, 10), {0.1, 0.2, 0.5, 1, 2, 5, 10});
  check_ticks(log_axis(0.1, 100), {0.1, 1, 10, 100});
  // A single value that is a power of ten gets the decade above it.
  a = log_axis(10, 10);
  CHECK(a.lo == doctest::Approx(10));
  CHECK(a.hi == doctest::Approx(100));
  // 18 decades: every third power of ten, at most 8 ticks.
  check_ticks(log_axis(1e-12, 1e6), {1e-12, 1e-9, 1e-6, 1e-3, 1, 1e3, 1e6});

  CHECK(error_of([] { log_axis(0, 1); }).find("log_axis: need finite 0 < lo <= hi") != std::string::npos);
}

TEST_CASE("moving_average: centred window, gaps skipped and kept") {
  // window 3 = one neighbour each side: (1+2)/2, (1+2+3)/3, (2+3)/2 (NaN skipped), NaN, 5 alone.
  std::vector<double> m = moving_average({1, 2, 3, NAN, 5}, 3);
  CHECK(m[0] == 1.5);
  CHECK(m[1] == 2);
  CHECK(m[2] == 2.5);
  CHECK(std::isnan(m[3]));
  CHECK(m[4] == 5);
  // On a log axis a value <= 0 is missing too.
  m = moving_average({-1, 1, 3}, 3, true);
  CHECK(std::isnan(m[0]));
  CHECK(m[1] == 2);
  CHECK(m[2] == 2);
}

TEST_CASE("line_plot: size, and a horizontal line where the axes put it") {
  PlotOptions o;
  o.width = 300, o.height = 200, o.y_min = 0, o.y_max = 1;
  Tensor empty = line_plot({}, o);
  CHECK(empty.shape() == Shape{200, 300, 3});
  CHECK(empty.dtype() == DType::u8);

  const std::vector<Series> s = {red({0, 5, 10}, {0.5, 0.5, 0.5})};
  Tensor img = line_plot(s, o);
  CHECK(img.shape() == Shape{200, 300, 3});
  const Frame f = plot_frame(s, o);
  // x data [0, 10] is already nice: it spans the whole data area; y = 0.5 is half way up.
  CHECK(f.col(0) == f.x0);
  CHECK(f.col(10) == f.x1);
  const int64_t r = std::llround(f.row(0.5));
  CHECK(std::abs(r - (f.y0 + f.y1) / 2.0) <= 0.5);
  for (int64_t x = f.x0; x <= f.x1; ++x) CHECK(is(img, r, x, kRed));
  CHECK(count_in(img, f, kRed) == 2 * (f.x1 - f.x0 + 1));  // two pixels thick: rows r and r + 1
  CHECK(is(img, r + 1, f.x0 + 7, kRed));
  CHECK(!is(img, r - 1, f.x0 + 7, kRed));
  CHECK(count_in(img, f, kRed, false) == 0);
  // The frame sits one pixel outside the data area, the background is white.
  CHECK(is(img, f.y0 - 1, f.x0 + 7, Rgb{90, 90, 90}));
  CHECK(is(img, 2, 2, Rgb{255, 255, 255}));
}

TEST_CASE("line_plot: data beyond a pinned range is clipped at the frame") {
  PlotOptions o;
  o.width = 300, o.height = 200, o.y_min = 0, o.y_max = 1;
  const std::vector<Series> s = {red({0, 10}, {0.5, 50})};  // leaves the top almost at once
  Tensor img = line_plot(s, o);
  const Frame f = plot_frame(s, o);
  CHECK(count_in(img, f, kRed, false) == 0);
  CHECK(count_in(img, f, kRed) > 0);
  int64_t top_row = 0;
  for (int64_t x = f.x0; x <= f.x1; ++x) top_row += is(img, f.y0, x, kRed);
  CHECK(top_row > 0);  // it runs into the top of the frame
}

TEST_CASE("line_plot: NaN and inf are gaps, a lone point is a dot, log_y skips y <= 0") {
  PlotOptions o;
  o.width = 300, o.height = 200, o.y_min = 0, o.y_max = 1;
  std::vector<double> x, y;
  for (int i = 0; i <= 10; ++i) x.push_back(i), y.push_back(0.5);
  y[5] = NAN;
  y[8] = INFINITY;
  const std::vector<Series> s = {red(x, y)};
  Tensor img = line_plot(s, o);
  const Frame f = plot_frame(s, o);
  const int64_t r = std::llround(f.row(0.5));
  auto red_between = [&](double a, double b) {  // red pixels on row r strictly between columns a and b
    int64_t n = 0;
    for (int64_t c = std::llround(f.col(a)) + 2; c < std::llround(f.col(b)) - 1; ++c) n += is(img, r, c, kRed);
    return n;
  };
  CHECK(red_between(1, 3) > 0);
  CHECK(red_between(4, 6) == 0);  // around the NaN
  CHECK(red_between(7, 9) == 0);  // around the inf
  CHECK(red_between(9, 10) > 0);  // 9 and 10 are joined again

  // A single point: a 3x3 dot.
  o.x_min = 0, o.x_max = 10;
  const std::vector<Series> one = {red({5}, {0.5})};
  Tensor dot = line_plot(one, o);
  const Frame fd = plot_frame(one, o);
  CHECK(count_in(dot, fd, kRed) == 9);
  CHECK(is(dot, std::llround(fd.row(0.5)), std::llround(fd.col(5)), kRed));

  // log_y: 0 and -1 are missing, so 0.1 and 10 have no neighbours: two dots, nothing else.
  PlotOptions lo;
  lo.width = 300, lo.height = 200, lo.log_y = true, lo.x_min = -1, lo.x_max = 4, lo.y_min = 0.01, lo.y_max = 100;
  const std::vector<Series> lg = {red({0, 1, 2, 3}, {0.1, 0, -1, 10})};
  Tensor limg = line_plot(lg, lo);
  const Frame fl = plot_frame(lg, lo);
  CHECK(count_in(limg, fl, kRed) == 18);
  // Four decades: 10 sits a quarter of the way down, 0.1 three quarters.
  CHECK(fl.row(10) == doctest::Approx(fl.y0 + 0.25 * (fl.y1 - fl.y0)));
  CHECK(is(limg, std::llround(fl.row(10)), std::llround(fl.col(3)), kRed));
  CHECK(is(limg, std::llround(fl.row(0.1)), std::llround(fl.col(0)), kRed));
  // Unpinned, the axis is the data's decades: [0.1, 10].
  lo.y_min.reset(), lo.y_max.reset();
  CHECK(plot_frame(lg, lo).y.lo == doctest::Approx(0.1));
  CHECK(plot_frame(lg, lo).y.hi == doctest::Approx(10));

  // Empty series and all-missing series are fine: a default frame.
  CHECK(line_plot({Series{"none", {}, {}, {}}, red({1, 2}, {NAN, NAN})}, PlotOptions{}).shape() == Shape{400, 640, 3});
}

TEST_CASE("line_plot: smoothing draws the average thick over a faint raw curve") {
  PlotOptions o;
  o.width = 300, o.height = 200, o.y_min = 0, o.y_max = 1, o.smooth = 3;
  const std::vector<Series> s = {red({0, 1, 2, 3, 4}, {0.2, 0.8, 0.2, 0.8, 0.2})};
  Tensor img = line_plot(s, o);
  const Frame f = plot_frame(s, o);
  // Raw in 0.35 red + 0.65 white = (255, 166, 166); the average at x = 2 is (0.8 + 0.2 + 0.8) / 3 = 0.6.
  CHECK(count_in(img, f, Rgb{255, 166, 166}) > 0);
  CHECK(is(img, std::llround(f.row(0.6)), std::llround(f.col(2)), kRed));
  CHECK(!is(img, std::llround(f.row(0.2)), std::llround(f.col(2)), kRed));  // the raw point is not full red
}

namespace {
// Text ink (anti-aliased dark grey on white): every channel below 120.
bool dark(const Tensor& img, int64_t y, int64_t x) {
  const uint8_t* p = img.data<uint8_t>() + (y * img.size(1) + x) * 3;
  return p[0] < 120 && p[1] < 120 && p[2] < 120;
}
}  // namespace

TEST_CASE("line_plot: the legend takes the emptiest corner") {
  PlotOptions o;
  o.width = 300, o.height = 200, o.y_min = 0, o.y_max = 1;
  auto ink_rows = [&](double y_const, bool& top, bool& bottom) {
    const std::vector<Series> s = {Series{"run", {0, 10}, {y_const, y_const}, kRed}};
    Tensor img = line_plot(s, o);
    const Frame f = plot_frame(s, o);
    top = bottom = false;
    for (int64_t y = f.y0; y <= f.y1; ++y)
      for (int64_t x = f.x0; x <= f.x1; ++x)
        if (dark(img, y, x)) (y < (f.y0 + f.y1) / 2 ? top : bottom) = true;  // the legend's text
  };
  bool top, bottom;
  ink_rows(0.95, top, bottom);  // a curve along the top: the legend goes to the bottom
  CHECK(!top);
  CHECK(bottom);
  ink_rows(0.05, top, bottom);  // along the bottom: the legend stays at the top
  CHECK(top);
  CHECK(!bottom);
}

TEST_CASE("line_plot: errors") {
  PlotOptions o;
  CHECK_THROWS_WITH_PART(line_plot({Series{"ap", {1, 2, 3}, {1, 2}, {}}}, o),
                         "line_plot: series 0 'ap': x has 3 values but y has 2");
  o.width = 100;
  CHECK_THROWS_WITH_PART(line_plot({}, o), "160x140 to 8192x8192 pixels, got 100x400");
  o = PlotOptions{};
  o.y_min = 1, o.y_max = 1;
  CHECK_THROWS_WITH_PART(line_plot({}, o), "line_plot: empty y range [1, 1]");
  o = PlotOptions{};
  o.log_y = true, o.y_min = 0;
  CHECK_THROWS_WITH_PART(line_plot({}, o), "must be finite and > 0 on a log axis");
  o = PlotOptions{};
  o.smooth = -1;
  CHECK_THROWS_WITH_PART(line_plot({}, o), "smooth must be >= 0");
  o = PlotOptions{};
  o.width = 160, o.height = 140, o.title = "t", o.xlabel = "x", o.ylabel = "y";  // the smallest allowed
  CHECK(line_plot({}, o).shape() == Shape{140, 160, 3});
  CHECK(tile_plots({line_plot({}, o), line_plot({}, o)}).shape() == Shape{140, 320, 3});
  CHECK(tile_plots({line_plot({}, o), line_plot({}, o)}, 1).shape() == Shape{280, 160, 3});
}

namespace {
std::string write_file(const std::string& name, const std::string& text) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("detgrad_plot_" + std::to_string(getpid()) + "_" + name)).string();
  std::ofstream(path) << text;
  return path;
}
}  // namespace

TEST_CASE("read_jsonl_series: filters, nested fields, null gaps, errors naming file and line") {
  const std::string p = write_file("m.jsonl",
                                   "{\"kind\": \"train\", \"images\": 32, \"loss\": 2.5}\n"
                                   "\n"
                                   "{\"kind\": \"eval\", \"images\": 64, \"AP50\": 0.1, \"coco\": {\"AP\": 0.05}}\n"
                                   "{\"kind\": \"eval\", \"images\": 128, \"AP50\": null}\r\n"
                                   "{\"kind\": \"train\", \"images\": 128.0, \"loss\": 1.5, \"AP50\": 9}\n");
  std::vector<Series> s = read_jsonl_series(p, "images", {"AP50", "coco.AP"}, {parse_row_filter("kind=eval")});
  REQUIRE(s.size() == 2);
  CHECK(s[0].label == "AP50");
  CHECK(s[0].x == std::vector<double>{64, 128});
  CHECK(s[0].y[0] == 0.1);
  CHECK(std::isnan(s[0].y[1]));
  CHECK(s[1].x == std::vector<double>{64});
  CHECK(s[1].y == std::vector<double>{0.05});
  // No filter: the train row's AP50 counts too; numbers match numerically (128 = 128.0).
  CHECK(read_jsonl_series(p, "images", {"AP50"})[0].x == std::vector<double>{64, 128, 128});
  CHECK(read_jsonl_series(p, "images", {"loss"}, {{"images", "128"}})[0].y == std::vector<double>{1.5});

  CHECK_THROWS_WITH_PART(read_jsonl_series(p, "images", {"AP75"}, {{"kind", "eval"}}),
                         "no row has both 'images' and 'AP75' matching kind=eval (fields seen: AP50, coco, "
                         "images, kind, loss)");
  CHECK_THROWS_WITH_PART(read_jsonl_series(p + ".missing", "images", {"AP50"}), "m.jsonl.missing' (missing file?)");
  const std::string bad = write_file("bad.jsonl", "{\"images\": 1, \"AP50\": 0.1}\n{\"images\": 2, \"AP50\": NaN}\n");
  CHECK_THROWS_WITH_PART(read_jsonl_series(bad, "images", {"AP50"}), "bad.jsonl:2: not valid JSON");
  const std::string str = write_file("str.jsonl", "[1, 2]\n");
  CHECK_THROWS_WITH_PART(read_jsonl_series(str, "images", {"AP50"}), "str.jsonl:1: expected a JSON object");
  const std::string txt = write_file("txt.jsonl", "{\"images\": 1, \"AP50\": \"high\"}\n");
  CHECK_THROWS_WITH_PART(read_jsonl_series(txt, "images", {"AP50"}),
                         "txt.jsonl:1: field 'AP50' is string \"high\", not a number");
  CHECK_THROWS_WITH_PART(parse_row_filter("kind"), "KEY=VALUE");
  for (const std::string& f : {p, bad, str, txt}) std::filesystem::remove(f);
}
