// `detgrad ref` entries for pooling, interpolation, normalisation, dropout and channel_shuffle, under
// the names and keyword arguments of torch.nn.functional (docs/ref.md, docs/pool.md, docs/norm.md,
// docs/interpolate.md).
#include <cstdlib>
#include <optional>

#include "autograd/ops/channel_shuffle.h"
#include "autograd/ops/dropout.h"
#include "autograd/ops/interpolate.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/pool.h"
#include "autograd/ops/registry.h"

namespace dg {

namespace {
using Outs = std::vector<Tensor>;

// An int-or-pair attribute ("3" or "3,2"); dflt when absent or none.
Size2 size2(OpArgs& a, const std::string& key, Size2 dflt) {
  Size2 v = a.ints(key);
  return v.empty() ? dflt : v;
}

// "true" / "false" / absent-or-none (Python's None) -> optional<bool>.
std::optional<bool> opt_bool(OpArgs& a, const std::string& key) {
  if (a.s(key, "none") == "none") return std::nullopt;
  return a.b(key, false);
}

// Comma-separated items of an attribute, brackets and spaces ignored: "[3, None]" -> {"3", "None"}.
std::vector<std::string> items(OpArgs& a, const std::string& key) {
  std::string s = a.s(key, "");
  for (char& c : s)
    if (c == '[' || c == ']' || c == '(' || c == ')' || c == ' ') c = ',';
  std::vector<std::string> r;
  size_t at = 0;
  while (at <= s.size()) {
    size_t next = s.find(',', at);
    if (next == std::string::npos) next = s.size();
    if (next > at) r.push_back(s.substr(at, next - at));
    at = next + 1;
  }
  return r;
}

std::vector<double> floats(OpArgs& a, const std::string& key, const char* op) {
  std::vector<double> r;
  for (const std::string& it : items(a, key)) {
    char* end = nullptr;
    double v = std::strtod(it.c_str(), &end);
    check(end && *end == 0, op, ": attribute ", key, "='", it, "' is not a number");
    r.push_back(v);
  }
  return r;
}

// adaptive output_size: "3", "3,4", "none,4" (None keeps that input size -> -1).
Size2 output_size(OpArgs& a) {
  Size2 r;
  for (const std::string& it : items(a, "output_size")) {
    if (it == "none" || it == "None") {
      r.push_back(-1);
      continue;
    }
    char* end = nullptr;
    long long v = std::strtoll(it.c_str(), &end, 10);
    check(end && *end == 0, "adaptive_avg_pool2d: attribute output_size='", it, "' is not an integer or none");
    r.push_back((int64_t)v);
  }
  check(!r.empty(), "adaptive_avg_pool2d: missing attribute 'output_size'");
  return r;
}
}  // namespace

void add_nn_ref_ops(std::vector<OpSpec>& t) {
  t.push_back(
      {"max_pool2d", "input",
       "kernel_size, stride (kernel_size), padding (0), dilation (1), ceil_mode (false), return_indices (false)", "",
       [](OpArgs& a) {
         Size2 k = a.ints("kernel_size");
         check(!k.empty(), "max_pool2d: missing attribute 'kernel_size'");
         auto [v, i] = max_pool2d_with_indices(a.in("input"), k, size2(a, "stride", {}), size2(a, "padding", {0}),
                                               size2(a, "dilation", {1}), a.b("ceil_mode", false));
         return a.b("return_indices", false) ? Outs{v, i} : Outs{v};
       }});
  t.push_back({"avg_pool2d", "input",
               "kernel_size, stride (kernel_size), padding (0), ceil_mode (false), count_include_pad (true), "
               "divisor_override (none)",
               "", [](OpArgs& a) {
                 Size2 k = a.ints("kernel_size");
                 check(!k.empty(), "avg_pool2d: missing attribute 'kernel_size'");
                 int64_t dv = a.i("divisor_override", 0);
                 check(!a.has_attr("divisor_override") || dv != 0, "avg_pool2d: divisor_override must not be 0");
                 return Outs{avg_pool2d(a.in("input"), k, size2(a, "stride", {}), size2(a, "padding", {0}),
                                        a.b("ceil_mode", false), a.b("count_include_pad", true), dv)};
               }});
  t.push_back({"adaptive_avg_pool2d", "input", "output_size (int, pair; none keeps a dim)", "",
               [](OpArgs& a) { return Outs{adaptive_avg_pool2d(a.in("input"), output_size(a))}; }});
  t.push_back({"interpolate", "input",
               "size or scale_factor, mode (nearest; nearest-exact, linear, bilinear, area), align_corners (none), "
               "recompute_scale_factor (none), antialias (false)",
               "", [](OpArgs& a) {
                 InterpolateOptions o;
                 o.size = a.ints("size");
                 o.scale_factor = floats(a, "scale_factor", "interpolate");
                 o.mode = parse_interp_mode(a.s("mode", "nearest"));
                 o.align_corners = opt_bool(a, "align_corners");
                 o.recompute_scale_factor = opt_bool(a, "recompute_scale_factor");
                 check(!a.b("antialias", false), "interpolate: antialias=true is not supported");
                 return Outs{interpolate(a.in("input"), o)};
               }});
  t.push_back({"batch_norm", "input, [running_mean], [running_var], [weight], [bias]",
               "training (false), momentum (0.1), eps (1e-5); training with running stats also outputs "
               "out1 = updated running_mean, out2 = updated running_var",
               "running_mean,running_var", [](OpArgs& a) {
                 const Tensor& x = a.in("input");
                 Tensor rm = a.opt("running_mean"), rv = a.opt("running_var");
                 check(rm.defined() == rv.defined(), "batch_norm: give both running_mean and running_var, or neither");
                 const bool training = a.b("training", false);
                 check(a.literal("momentum", "0.1") != "none" || !training || !rm.defined(),
                       "batch_norm: momentum=none (PyTorch's cumulative average) is not supported");
                 Tensor y = batch_norm(x, rm, rv, a.opt("weight"), a.opt("bias"), training, a.f("momentum", 0.1),
                                       a.f("eps", 1e-5));
                 if (training && rm.defined())
                   return Outs{y, rm.contiguous_copy_no_grad(), rv.contiguous_copy_no_grad()};
                 return Outs{y};
               }});
  t.push_back({"group_norm", "input, [weight], [bias]", "num_groups, eps (1e-5)", "", [](OpArgs& a) {
                 return Outs{
                     group_norm(a.in("input"), a.i("num_groups"), a.opt("weight"), a.opt("bias"), a.f("eps", 1e-5))};
               }});
  t.push_back({"layer_norm", "input, [weight], [bias]", "normalized_shape, eps (1e-5)", "", [](OpArgs& a) {
                 Shape ns = a.ints("normalized_shape");
                 check(!ns.empty(), "layer_norm: missing attribute 'normalized_shape'");
                 return Outs{layer_norm(a.in("input"), ns, a.opt("weight"), a.opt("bias"), a.f("eps", 1e-5))};
               }});
  t.push_back({"dropout", "input",
               "p (0.5), training (true), inplace (false, no effect), seed (0): the mask is detgrad's own "
               "(dg::Generator), not PyTorch's",
               "", [](OpArgs& a) {
                 a.b("inplace", false);
                 return Outs{dropout(a.in("input"), a.f("p", 0.5), a.b("training", true), (uint64_t)a.i("seed", 0))};
               }});
  t.push_back({"channel_shuffle", "input", "groups", "",
               [](OpArgs& a) { return Outs{channel_shuffle(a.in("input"), a.i("groups"))}; }});
}

}  // namespace dg
