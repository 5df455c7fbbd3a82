// Model summary (see summary.h): record every module call through the forward hook, then add the
// counts up the tree by state_dict prefix.
#include "layers/summary.h"

#include <cstdio>
#include <map>

#include "autograd/error.h"

namespace dg::nn {

namespace {

struct Calls {
  Shape first_output;
  int64_t calls = 0, macs = 0, bytes = 0;
};

// "a.b" is inside "a" and inside "" (the root); "ab" is not inside "a".
bool inside(const std::string& path, const std::string& root) {
  return root.empty() || path == root ||
         (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '.');
}

int depth_of(const std::string& path) {
  if (path.empty()) return 0;
  int d = 1;
  for (char c : path) d += c == '.';
  return d;
}

std::string shape_or_dash(const Shape& s) { return s.empty() ? "-" : shape_str(s); }
}  // namespace

std::string with_commas(int64_t v) {
  const std::string s = std::to_string(v < 0 ? -v : v);
  std::string out = v < 0 ? "-" : "";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string si_count(int64_t v) {
  const char* units[] = {"", " K", " M", " G", " T"};
  double x = (double)v;
  int u = 0;
  while (std::abs(x) >= 1000 && u < 4) x /= 1000, ++u;
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lld", (long long)v);
  else std::snprintf(buf, sizeof buf, "%.2f%s", x, units[u]);
  return buf;
}

ModelSummary summarize(Module& m, const Shape& input, const std::function<void()>& forward) {
  const std::vector<std::pair<std::string, Module*>> modules = m.named_modules();
  std::map<std::string, Module*> by_path(modules.begin(), modules.end());
  std::map<std::string, Calls> calls;
  m.set_forward_hook([&](const std::string& prefix, const Tensor& out) {
    Calls& c = calls[prefix];
    if (c.calls++ == 0) c.first_output = out.shape();
    auto it = by_path.find(prefix);
    if (it != by_path.end()) c.macs += it->second->multiply_adds(out);
    c.bytes += (int64_t)out.nbytes();
  });
  try {
    forward();
  } catch (...) {
    m.set_forward_hook({});
    throw;
  }
  m.set_forward_hook({});

  ModelSummary s;
  s.input = input;
  for (const auto& [path, mod] : modules) {
    SummaryRow r;
    r.path = path;
    r.type = mod->type_name();
    r.depth = depth_of(path);
    if (auto it = calls.find(path); it != calls.end()) r.output = it->second.first_output, r.calls = it->second.calls;
    for (const auto& [name, p] : mod->own_parameters()) r.own_params += p.numel();
    for (const auto& [name, p] : mod->named_parameters()) {
      r.params += p.numel();
      if (p.requires_grad()) r.trainable += p.numel();
    }
    for (const auto& [other, c] : calls)
      if (inside(other, path)) {
        r.macs += c.macs;
        auto o = by_path.find(other);
        if (o != by_path.end() && o->second->children().empty()) r.activation_bytes += c.bytes;
      }
    s.rows.push_back(r);
  }
  const SummaryRow& root = s.rows.front();
  s.params = root.params;
  s.trainable = root.trainable;
  s.frozen = root.params - root.trainable;
  s.macs = root.macs;
  s.activation_bytes = root.activation_bytes;
  for (const Tensor& p : m.parameters()) s.param_bytes += (int64_t)p.nbytes();
  return s;
}

std::string ModelSummary::table(int max_depth) const {
  std::string out;
  char line[320];
  std::snprintf(line, sizeof line, "%-48s %-22s %14s %16s\n", "module (type)", "output shape", "parameters",
                "multiply-adds");
  out += line;
  out += std::string(103, '-') + "\n";
  for (const SummaryRow& r : rows) {
    if (r.depth == 0 || (max_depth >= 0 && r.depth > max_depth)) continue;
    std::string name = std::string((size_t)(r.depth - 1) * 2, ' ') + r.path.substr(r.path.rfind('.') + 1) + " (" +
                       r.type + ")";
    if (r.calls > 1) name += " x" + std::to_string(r.calls);
    std::snprintf(line, sizeof line, "%-48s %-22s %14s %16s\n", name.c_str(), shape_or_dash(r.output).c_str(),
                  with_commas(r.params).c_str(), with_commas(r.macs).c_str());
    out += line;
  }
  out += std::string(103, '-') + "\n";
  out += "input " + shape_str(input) + "\n";
  out += "parameters " + with_commas(params) + " (" + si_count(params) + "): trainable " + with_commas(trainable) +
         ", frozen " + with_commas(frozen) + "; " + si_count(param_bytes) + "B\n";
  out += "multiply-adds " + with_commas(macs) + " (" + si_count(macs) + ")\n";
  out += "activations " + si_count(activation_bytes) + "B (the outputs of every leaf module, one forward)\n";
  return out;
}

nlohmann::json ModelSummary::json(int max_depth) const {
  nlohmann::json mods = nlohmann::json::array();
  for (const SummaryRow& r : rows) {
    if (max_depth >= 0 && r.depth > max_depth) continue;
    mods.push_back({{"path", r.path},
                    {"type", r.type},
                    {"depth", r.depth},
                    {"output", r.output},
                    {"calls", r.calls},
                    {"params", r.params},
                    {"trainable", r.trainable},
                    {"macs", r.macs},
                    {"activation_bytes", r.activation_bytes}});
  }
  return {{"input", input},
          {"params", params},
          {"trainable", trainable},
          {"frozen", frozen},
          {"macs", macs},
          {"activation_bytes", activation_bytes},
          {"param_bytes", param_bytes},
          {"modules", mods}};
}

}  // namespace dg::nn
