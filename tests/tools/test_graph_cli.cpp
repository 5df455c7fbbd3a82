// `detgrad graph` end to end: an SVG (and the .dot beside it) for every detector kind and a
// classifier; a .dot alone; errors.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support.h"

namespace fs = std::filesystem;

namespace {
std::string read(const fs::path& p) { return read_text(p.string()); }
}  // namespace

TEST_CASE("graph cli: every detector and a classifier drawn") {
  const std::string dir = fresh_temp_dir("graph", "svg");
  const bool have_dot = std::system("command -v dot >/dev/null 2>&1") == 0;
  for (const std::string name : {"centernet", "fcos", "retinanet", "resnet18"}) {
    CAPTURE(name);
    const fs::path svg = fs::path(dir) / (name + ".svg");
    std::string out;
    const int st = run_detgrad("graph " + name + " --out " + svg.string() + " --depth 1" +
                                   (name == "resnet18" ? " --input-size 64" : ""),
                               out);
    const std::string dot = read(fs::path(dir) / (name + ".dot"));
    CHECK(dot.rfind("digraph tape {", 0) == 0);     // the .dot is always written
    CHECK(dot.find("ops\"") != std::string::npos);  // depth 1: the network's children as boxes
    if (have_dot) {
      CHECK(st == 0);
      const std::string s = read(svg);
      CHECK(s.find("<svg") != std::string::npos);
      CHECK(s.find("</svg>") != std::string::npos);
    } else {
      CHECK(st != 0);
      CHECK(out.find("Graphviz's `dot` is not installed") != std::string::npos);
    }
  }
  // Every op, as .dot only.
  std::string out;
  REQUIRE(run_detgrad("graph fcos --out " + dir + "/all.dot --depth -1", out) == 0);
  const std::string all = read(fs::path(dir) / "all.dot");
  CHECK(all.find("label=\"conv2d\"") != std::string::npos);
  CHECK(all.find("subgraph cluster_") != std::string::npos);
  CHECK(all.find("head.cls_logits.weight") != std::string::npos);
}

TEST_CASE("graph cli: errors") {
  std::string out;
  CHECK(run_detgrad("graph fcos --out g.png", out) != 0);
  CHECK(out.find("--out must end in .svg or .dot") != std::string::npos);
  CHECK(run_detgrad("graph nothing --out g.svg", out) != 0);
  CHECK(out.find("unknown model 'nothing'") != std::string::npos);
}
