// `detgrad summary NAME [--preset small|standard | --input-size HxW] [--depth N] [--json] [--model-opt K=V]`
// prints a network's modules with output shapes, parameters and multiply-adds (layers/summary.h; the
// names it takes: detectors/pipeline/inspect.h). Docs: docs/summary.md.
#include <cstdio>
#include <memory>
#include <string>

#include "autograd/error.h"
#include "detectors/pipeline/inspect.h"
#include "tools/commands.h"
#include "tools/flags.h"

namespace dg::tools {

namespace {
struct SummaryCli {
  std::string name, preset = "small", input_size;
  int depth = 2;
  bool json = false;
  std::vector<std::string> model_opts;
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

int run(const SummaryCli& c) {
  det::InspectOptions o;
  o.preset = c.preset;
  if (!c.input_size.empty()) std::tie(o.input_h, o.input_w) = parse_hw(c.input_size);
  for (const std::string& kv : c.model_opts) {
    const size_t eq = kv.find('=');
    check(eq != std::string::npos && eq > 0, "--model-opt wants KEY=VALUE, got '", kv, "'");
    nlohmann::json v = nlohmann::json::parse(kv.substr(eq + 1), nullptr, false);
    o.model_options[kv.substr(0, eq)] = v.is_discarded() ? nlohmann::json(kv.substr(eq + 1)) : v;
  }
  det::Inspected m = det::inspect(c.name, o);
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
}  // namespace

std::function<int()> add_summary_command(CLI::App& app) {
  auto c = std::make_shared<SummaryCli>();
  CLI::App* s = app.add_subcommand("summary", "a network's modules: output shapes, parameters, multiply-adds");
  s->add_option("model", c->name,
                "a classifier (resnet18, ...), a backbone (snet49, backbone:resnet18, ...), a model kind "
                "(centernet, fcos, retinanet) or a model file / run directory")
      ->required();
  s->add_option("--preset", c->preset, "a model kind's input: fashion-scenes small (96) or standard (128)")
      ->capture_default_str();
  s->add_option("--input-size", c->input_size, "the input, H or HxW (overrides --preset and the defaults)");
  s->add_option("--depth", c->depth, "module levels listed (-1: all); totals always count everything")
      ->capture_default_str();
  s->add_flag("--json", c->json, "print the summary as JSON");
  s->add_option("--model-opt", c->model_opts, "KEY=VALUE of a model kind's config, e.g. backbone=\"snet49\"");
  return [c] { return run(*c); };
}

}  // namespace dg::tools
