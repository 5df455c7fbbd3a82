// Looking inside a network named on the command line (detectors/pipeline/inspect.h has the names):
//   `detgrad summary NAME [--preset small|standard | --input-size HxW] [--depth N] [--json] [--model-opt K=V]`
//     its modules with output shapes, parameters and multiply-adds (layers/summary.h; docs/summary.md)
//   `detgrad graph NAME --out G.svg|G.dot [--depth N] [same input options]`
//     the tape of one forward pass drawn with Graphviz (autograd/graph_dot.h; docs/autograd.md)
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "autograd/error.h"
#include "detectors/pipeline/inspect.h"
#include "tools/commands.h"
#include "tools/flags.h"

namespace dg::tools {

namespace {
struct InspectCli {
  std::string name, preset = "small", input_size;
  std::vector<std::string> model_opts;
};

struct SummaryCli {
  InspectCli net;
  int depth = 2;
  bool json = false;
};

struct GraphCli {
  InspectCli net;
  int depth = 1;
  std::string out;
};

// "96" -> 96x96, "64x128" -> 64 high, 128 wide.
std::pair<int64_t, int64_t> parse_hw(const std::string& s) {
  const size_t x = s.find('x');
  try {
    size_t used = 0;
    const int64_t h = std::stoll(s.substr(0, x), &used);
    check(used == (x == std::string::npos ? s.size() : x), "");
    const int64_t w = x == std::string::npos ? h : std::stoll(s.substr(x + 1), &used);
    check(x == std::string::npos || used == s.size() - x - 1, "");
    check(h > 0 && w > 0, "");
    return {h, w};
  } catch (const std::exception&) {
    fail("summary: --input-size wants H, or HxW with positive integers, got '", s, "'");
  }
}

det::Inspected open_network(const InspectCli& c) {
  det::InspectOptions o;
  o.preset = c.preset;
  if (!c.input_size.empty()) std::tie(o.input_h, o.input_w) = parse_hw(c.input_size);
  for (const std::string& kv : c.model_opts) {
    const size_t eq = kv.find('=');
    check(eq != std::string::npos && eq > 0, "--model-opt wants KEY=VALUE, got '", kv, "'");
    nlohmann::json v = nlohmann::json::parse(kv.substr(eq + 1), nullptr, false);
    o.model_options[kv.substr(0, eq)] = v.is_discarded() ? nlohmann::json(kv.substr(eq + 1)) : v;
  }
  return det::inspect(c.name, o);
}

int run_summary(const SummaryCli& c) {
  det::Inspected m = open_network(c.net);
  const nn::ModelSummary s = det::summary_of(m);
  if (c.json) {
    nlohmann::json j = s.json(c.depth);
    j["model"] = m.description;
    std::printf("%s\n", j.dump(1).c_str());
  } else {
    std::printf("%s, input %s\n\n%s", m.description.c_str(), shape_str(m.input).c_str(), s.table(c.depth).c_str());
  }
  return 0;
}

// G.svg: G.dot beside it, then Graphviz's dot; G.dot: the text alone.
int run_graph(const GraphCli& c) {
  namespace fs = std::filesystem;
  check(!c.out.empty(), "graph: give --out G.svg (or G.dot)");
  const fs::path out(c.out);
  check(out.extension() == ".svg" || out.extension() == ".dot", "graph: --out must end in .svg or .dot, got ", c.out);
  det::Inspected m = open_network(c.net);
  const std::string dot = det::tape_dot(m, c.depth);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  fs::path dot_path = out;
  dot_path.replace_extension(".dot");
  std::ofstream(dot_path) << dot;
  std::printf("wrote %s (%s, input %s, depth %d)\n", dot_path.c_str(), m.description.c_str(),
              shape_str(m.input).c_str(), c.depth);
  if (out.extension() == ".dot") return 0;
  check(std::system("command -v dot >/dev/null 2>&1") == 0, "graph: wrote ", dot_path.string(), " but cannot draw ",
        c.out,
        ": Graphviz's `dot` is not installed (apt-get install graphviz; ./install.sh "
        "installs it)");
  const std::string cmd = "dot -Tsvg '" + dot_path.string() + "' -o '" + c.out + "'";
  check(std::system(cmd.c_str()) == 0, "graph: `", cmd, "` failed");
  std::printf("wrote %s\n", c.out.c_str());
  return 0;
}

void add_network_options(CLI::App* s, InspectCli& c) {
  s->add_option("model", c.name,
                "a classifier (resnet18, ...), a backbone (snet49, backbone:resnet18, ...), a model kind "
                "(centernet, fcos, retinanet) or a model file / run directory")
      ->required();
  s->add_option("--preset", c.preset, "a model kind's input: fashion-scenes small (96) or standard (128)")
      ->capture_default_str();
  s->add_option("--input-size", c.input_size, "the input, H or HxW (overrides --preset and the defaults)");
  s->add_option("--model-opt", c.model_opts, "KEY=VALUE of a model kind's config, e.g. backbone=\"snet49\"");
}
}  // namespace

std::function<int()> add_summary_command(CLI::App& app) {
  auto c = std::make_shared<SummaryCli>();
  CLI::App* s = app.add_subcommand("summary", "a network's modules: output shapes, parameters, multiply-adds");
  add_network_options(s, c->net);
  s->add_option("--depth", c->depth, "module levels listed (-1: all); totals always count everything")
      ->capture_default_str();
  s->add_flag("--json", c->json, "print the summary as JSON");
  return [c] { return run_summary(*c); };
}

std::function<int()> add_graph_command(CLI::App& app) {
  auto c = std::make_shared<GraphCli>();
  CLI::App* s = app.add_subcommand("graph",
                                   "the tape of one forward pass, drawn with Graphviz (SVG, hover for statistics)");
  add_network_options(s, c->net);
  s->add_option("--out", c->out, "G.svg (G.dot is written beside it) or G.dot")->required();
  s->add_option("--depth", c->depth, "modules deeper than this are one box each (-1: every op)")->capture_default_str();
  return [c] { return run_graph(*c); };
}

}  // namespace dg::tools
