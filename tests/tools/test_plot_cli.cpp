// `detgrad plot` end to end: JSON-lines files in, a PNG out; errors name the file (and line).
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "autograd/io/image.h"
#include "tests/support.h"

using namespace dg;
namespace fs = std::filesystem;

namespace {
int run_plot_cli(const std::string& args, std::string& out) { return run_detgrad("plot " + args, out); }
}  // namespace

TEST_CASE("plot cli: two runs, a filter, labels; bad files are named") {
  const fs::path d = fs::temp_directory_path() / ("detgrad_test_plot_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d / "run_a");
  std::ofstream(d / "run_a" / "metrics.jsonl") << "{\"kind\":\"train\",\"images\":32,\"loss\":3.0}\n"
                                                  "{\"kind\":\"eval\",\"images\":64,\"AP50\":0.2}\n"
                                                  "{\"kind\":\"eval\",\"images\":128,\"AP50\":0.35}\n";
  std::ofstream(d / "torch.jsonl") << "{\"kind\":\"eval\",\"images\":64,\"AP50\":0.25}\n"
                                      "{\"kind\":\"eval\",\"images\":128,\"AP50\":0.4}\n";
  const std::string a = (d / "run_a" / "metrics.jsonl").string(), b = (d / "torch.jsonl").string();
  const std::string png = (d / "ap.png").string();
  std::string out;
  // run_a's label comes from its folder, torch's is given after the ':'.
  CHECK_MESSAGE(run_plot_cli(a + " " + b +
                                 ":pytorch --x images --y AP50 --where kind=eval --width 320 --height 200 "
                                 "--title mAP --out " +
                                 png,
                             out) == 0,
                out);
  CHECK(out.find("run_a") != std::string::npos);
  CHECK(out.find("pytorch") != std::string::npos);
  CHECK(out.find("(128, 0.4)") != std::string::npos);  // the last point of the pytorch series
  CHECK(io::load_image(png).shape() == Shape{200, 320, 3});

  CHECK(run_plot_cli(b + " " + (d / "nope.jsonl").string() + " --x images --y AP50 --out " + png, out) == 1);
  CHECK(out.find("nope.jsonl") != std::string::npos);
  std::ofstream(d / "bad.jsonl") << "{\"images\": 1, \"AP50\": 0.1}\n{\"images\": 2,\n";
  CHECK(run_plot_cli((d / "bad.jsonl").string() + " --x images --y AP50 --out " + png, out) == 1);
  CHECK(out.find("bad.jsonl:2: not valid JSON") != std::string::npos);
  CHECK(run_plot_cli(a + " --x images --y AP50 --where kind=test --out " + png, out) == 1);
  CHECK(out.find("no row has both 'images' and 'AP50' matching kind=test") != std::string::npos);
  fs::remove_all(d);
}
