#include "autograd/ops/registry.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "autograd/graph.h"
#include "autograd/ops.h"

namespace dg {

// ---- OpArgs --------------------------------------------------------------------------------------
OpArgs::OpArgs(std::string op, std::vector<std::pair<std::string, Tensor>> inputs,
               std::map<std::string, std::string> attrs)
    : op_(std::move(op)), inputs_(std::move(inputs)), attrs_(std::move(attrs)) {}

const Tensor& OpArgs::in(const std::string& name) {
  used_inputs_.insert(name);
  for (auto& [n, t] : inputs_)
    if (n == name) return t;
  fail(op_, ": missing input '", name, "'");
}

Tensor OpArgs::opt(const std::string& name) {
  used_inputs_.insert(name);
  for (auto& [n, t] : inputs_)
    if (n == name) return t;
  return Tensor();
}

std::vector<Tensor> OpArgs::list(const std::string& name) {
  used_inputs_.insert(name);
  std::vector<Tensor> r;
  for (auto& [n, t] : inputs_)
    if (n == name) r.push_back(t);
  check(!r.empty(), op_, ": missing input '", name, "' (one or more tensors)");
  return r;
}

const std::string* OpArgs::attr(const std::string& key) {
  used_attrs_.insert(key);
  auto it = attrs_.find(key);
  if (it == attrs_.end() || it->second == "none") return nullptr;
  return &it->second;
}

bool OpArgs::has_attr(const std::string& key) const {
  auto it = attrs_.find(key);
  return it != attrs_.end() && it->second != "none";
}

static double parse_double(const std::string& op, const std::string& key, const std::string& v) {
  if (v == "inf") return std::numeric_limits<double>::infinity();
  if (v == "-inf") return -std::numeric_limits<double>::infinity();
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  check(!v.empty() && end && *end == 0, op, ": attribute ", key, "='", v, "' is not a number");
  return d;
}

static int64_t parse_int(const std::string& op, const std::string& key, const std::string& v) {
  char* end = nullptr;
  long long i = std::strtoll(v.c_str(), &end, 10);
  check(!v.empty() && end && *end == 0, op, ": attribute ", key, "='", v, "' is not an integer");
  return (int64_t)i;
}

double OpArgs::f(const std::string& key, double dflt) {
  const std::string* v = attr(key);
  return v ? parse_double(op_, key, *v) : dflt;
}
double OpArgs::f(const std::string& key) {
  const std::string* v = attr(key);
  check(v != nullptr, op_, ": missing attribute '", key, "'");
  return parse_double(op_, key, *v);
}
int64_t OpArgs::i(const std::string& key, int64_t dflt) {
  const std::string* v = attr(key);
  return v ? parse_int(op_, key, *v) : dflt;
}
int64_t OpArgs::i(const std::string& key) {
  const std::string* v = attr(key);
  check(v != nullptr, op_, ": missing attribute '", key, "'");
  return parse_int(op_, key, *v);
}
bool OpArgs::b(const std::string& key, bool dflt) {
  const std::string* v = attr(key);
  if (!v) return dflt;
  if (*v == "true" || *v == "True" || *v == "1") return true;
  if (*v == "false" || *v == "False" || *v == "0") return false;
  fail(op_, ": attribute ", key, "='", *v, "' is not a boolean (true or false)");
}
std::string OpArgs::s(const std::string& key, const std::string& dflt) {
  const std::string* v = attr(key);
  return v ? *v : dflt;
}
std::string OpArgs::literal(const std::string& key, const std::string& dflt) {
  used_attrs_.insert(key);
  auto it = attrs_.find(key);
  return it == attrs_.end() ? dflt : it->second;
}
std::vector<int64_t> OpArgs::ints(const std::string& key) {
  const std::string* v = attr(key);
  std::vector<int64_t> r;
  if (!v) return r;
  std::string s = *v;
  // Accept "0,2", "[0, 2]" and "(0, 2)".
  for (char& c : s)
    if (c == '[' || c == ']' || c == '(' || c == ')' || c == ' ') c = ',';
  size_t at = 0;
  while (at <= s.size()) {
    size_t next = s.find(',', at);
    if (next == std::string::npos) next = s.size();
    std::string item = s.substr(at, next - at);
    if (!item.empty()) r.push_back(parse_int(op_, key, item));
    at = next + 1;
  }
  return r;
}

void OpArgs::check_all_used() const {
  for (auto& [n, t] : inputs_) check(used_inputs_.count(n) > 0, op_, ": unknown input '", n, "'");
  for (auto& [k, v] : attrs_) check(used_attrs_.count(k) > 0, op_, ": unknown attribute '", k, "'");
}

// ---- the table -----------------------------------------------------------------------------------
namespace {
using Outs = std::vector<Tensor>;

Outs one(Tensor t) { return Outs{std::move(t)}; }

Reduction reduction(OpArgs& a) { return parse_reduction(a.literal("reduction", "mean")); }

// A scalar-valued optional attribute as a tensor of the input's dtype, or the named input.
Tensor other_or_scalar(OpArgs& a, const Tensor& like, const char* name) {
  Tensor t = a.opt(name);
  if (t.defined()) return t;
  check(a.has_attr(name), "missing input or attribute '", name, "'");
  return scalar_tensor(a.f(name), like.dtype());
}

OpSpec binary(const char* name, Tensor (*fn)(const Tensor&, const Tensor&)) {
  return {name, "input, other", "", "", [fn](OpArgs& a) {
            const Tensor& x = a.in("input");
            return one(fn(x, other_or_scalar(a, x, "other")));
          }};
}
OpSpec unary(const char* name, Tensor (*fn)(const Tensor&)) {
  return {name, "input", "", "", [fn](OpArgs& a) { return one(fn(a.in("input"))); }};
}
OpSpec reduce_op(const char* name, Tensor (*fn)(const Tensor&, const Dims&, bool)) {
  return {name, "input", "dim (none = all), keepdim (false)", "",
          [fn](OpArgs& a) { return one(fn(a.in("input"), a.ints("dim"), a.b("keepdim", false))); }};
}
// torch.max / torch.min: with one dim -> (values, indices); without -> the extreme of all elements.
OpSpec extreme_op(const char* name, bool is_max) {
  return {name, "input", "dim (none = all), keepdim (false)", "", [is_max, name](OpArgs& a) {
            const Tensor& x = a.in("input");
            bool keep = a.b("keepdim", false);
            Dims d = a.ints("dim");
            if (d.empty()) return one(is_max ? amax(x, {}, keep) : amin(x, {}, keep));
            check(d.size() == 1, name, ": dim must be a single integer (use amax/amin semantics without dim)");
            auto [v, i] = is_max ? max(x, d[0], keep) : min(x, d[0], keep);
            return Outs{v, i};
          }};
}
OpSpec loss_pair(const char* name, Tensor (*fn)(const Tensor&, const Tensor&, Reduction)) {
  return {name, "input, target", "reduction (mean)", "",
          [fn](OpArgs& a) { return one(fn(a.in("input"), a.in("target"), reduction(a))); }};
}

// element-wise: arithmetic with a tensor or scalar `other`, unary maps, pow, clamp, where
void add_elementwise_ops(std::vector<OpSpec>& t) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  t.push_back({"add", "input, other", "alpha (1)", "", [](OpArgs& a) {
                 const Tensor& x = a.in("input");
                 return one(add(x, other_or_scalar(a, x, "other"), a.f("alpha", 1.0)));
               }});
  t.push_back({"sub", "input, other", "alpha (1)", "", [](OpArgs& a) {
                 const Tensor& x = a.in("input");
                 return one(sub(x, other_or_scalar(a, x, "other"), a.f("alpha", 1.0)));
               }});
  t.push_back(binary("mul", [](const Tensor& x, const Tensor& y) { return mul(x, y); }));
  t.push_back(binary("div", [](const Tensor& x, const Tensor& y) { return div(x, y); }));
  t.push_back(binary("minimum", minimum));
  t.push_back(binary("maximum", maximum));
  t.push_back(unary("neg", neg));
  t.push_back(unary("exp", exp));
  t.push_back(unary("log", log));
  t.push_back(unary("sqrt", sqrt));
  t.push_back(unary("abs", abs));
  t.push_back(unary("atan", atan));
  t.push_back(
      {"atan_ratio", "input, other", "", "", [](OpArgs& a) { return one(atan_ratio(a.in("input"), a.in("other"))); }});
  t.push_back({"pow", "input, [exponent]", "exponent (scalar, if not an input)", "", [](OpArgs& a) {
                 const Tensor& x = a.in("input");
                 Tensor e = a.opt("exponent");
                 if (e.defined()) return one(pow(x, e));
                 return one(pow(x, a.f("exponent")));
               }});
  t.push_back({"clamp", "input", "min (none), max (none)", "",
               [nan](OpArgs& a) { return one(clamp(a.in("input"), a.f("min", nan), a.f("max", nan))); }});
  t.push_back({"where", "condition, input, other", "", "", [](OpArgs& a) {
                 Tensor c = a.in("condition");
                 return one(where(c, a.in("input"), a.in("other")));
               }});
}

// reductions: sum, mean, max/min (values and indices with a dim), amax/amin, var
void add_reduction_ops(std::vector<OpSpec>& t) {
  t.push_back(reduce_op("sum", sum));
  t.push_back(reduce_op("mean", mean));
  t.push_back(extreme_op("max", true));
  t.push_back(extreme_op("min", false));
  t.push_back(reduce_op("amax", amax));
  t.push_back(reduce_op("amin", amin));
  t.push_back({"var", "input", "dim (none), correction (1) or unbiased (true), keepdim (false)", "", [](OpArgs& a) {
                 double c = a.has_attr("unbiased") ? (a.b("unbiased", true) ? 1.0 : 0.0) : a.f("correction", 1.0);
                 return one(var(a.in("input"), a.ints("dim"), c, a.b("keepdim", false)));
               }});
}

// matmul and linear
void add_matmul_ops(std::vector<OpSpec>& t) {
  t.push_back({"matmul", "input, other", "", "", [](OpArgs& a) { return one(matmul(a.in("input"), a.in("other"))); }});
  t.push_back({"linear", "input, weight, [bias]", "", "",
               [](OpArgs& a) { return one(linear(a.in("input"), a.in("weight"), a.opt("bias"))); }});
}

// shape: views, permutations, joins and splits, slicing, indexing, padding
void add_shape_ops(std::vector<OpSpec>& t) {
  for (const char* n : {"reshape", "view"})
    t.push_back({n, "input", "shape", "", [](OpArgs& a) { return one(reshape(a.in("input"), a.ints("shape"))); }});
  t.push_back({"permute", "input", "dims", "", [](OpArgs& a) { return one(permute(a.in("input"), a.ints("dims"))); }});
  t.push_back({"transpose", "input", "dim0, dim1", "",
               [](OpArgs& a) { return one(transpose(a.in("input"), a.i("dim0"), a.i("dim1"))); }});
  t.push_back({"expand", "input", "size", "", [](OpArgs& a) { return one(expand(a.in("input"), a.ints("size"))); }});
  for (const char* n : {"cat", "concat"})
    t.push_back({n, "tensors...", "dim (0)", "", [](OpArgs& a) { return one(cat(a.list("tensors"), a.i("dim", 0))); }});
  t.push_back(
      {"stack", "tensors...", "dim (0)", "", [](OpArgs& a) { return one(stack(a.list("tensors"), a.i("dim", 0))); }});
  t.push_back({"split", "tensor", "split_size_or_sections (one int = piece size; a list = sections), dim (0)", "",
               [](OpArgs& a) {
                 const Tensor& x = a.in("tensor");
                 std::string raw = a.s("split_size_or_sections", "");
                 check(!raw.empty(), "split: missing attribute 'split_size_or_sections'");
                 Dims s = a.ints("split_size_or_sections");
                 int64_t dim = a.i("dim", 0);
                 bool is_list = raw.find_first_of(",[(") != std::string::npos;
                 return is_list ? split(x, s, dim) : split(x, s.at(0), dim);
               }});
  t.push_back({"chunk", "input", "chunks, dim (0)", "",
               [](OpArgs& a) { return chunk(a.in("input"), a.i("chunks"), a.i("dim", 0)); }});
  t.push_back({"narrow", "input", "dim, start, length", "",
               [](OpArgs& a) { return one(narrow(a.in("input"), a.i("dim"), a.i("start"), a.i("length"))); }});
  t.push_back({"slice", "input", "dim (0), start (0), end (none), step (1)", "", [](OpArgs& a) {
                 return one(slice(a.in("input"), a.i("dim", 0), a.i("start", 0),
                                  a.i("end", std::numeric_limits<int64_t>::max()), a.i("step", 1)));
               }});
  t.push_back({"index_select", "input, index", "dim", "",
               [](OpArgs& a) { return one(index_select(a.in("input"), a.i("dim"), a.in("index"))); }});
  t.push_back({"gather", "input, index", "dim", "",
               [](OpArgs& a) { return one(gather(a.in("input"), a.i("dim"), a.in("index"))); }});
  t.push_back({"pad", "input", "pad (last dim first), value (0), mode (constant)", "", [](OpArgs& a) {
                 std::string mode = a.s("mode", "constant");
                 check(mode == "constant", "pad: only mode=constant is supported, got '", mode, "'");
                 return one(pad(a.in("input"), a.ints("pad"), a.f("value", 0.0)));
               }});
}

// activations
void add_activation_ops(std::vector<OpSpec>& t) {
  t.push_back(unary("relu", relu));
  t.push_back(unary("sigmoid", sigmoid));
  t.push_back(unary("tanh", tanh));
  t.push_back(unary("silu", silu));
  t.push_back({"leaky_relu", "input", "negative_slope (0.01)", "",
               [](OpArgs& a) { return one(leaky_relu(a.in("input"), a.f("negative_slope", 0.01))); }});
  t.push_back({"softplus", "input", "beta (1), threshold (20)", "",
               [](OpArgs& a) { return one(softplus(a.in("input"), a.f("beta", 1.0), a.f("threshold", 20.0))); }});
  t.push_back({"softmax", "input", "dim", "", [](OpArgs& a) { return one(softmax(a.in("input"), a.i("dim"))); }});
  t.push_back(
      {"log_softmax", "input", "dim", "", [](OpArgs& a) { return one(log_softmax(a.in("input"), a.i("dim"))); }});
}

// losses, with a `reduction` attribute
void add_loss_ops(std::vector<OpSpec>& t) {
  t.push_back(loss_pair("mse_loss", mse_loss));
  t.push_back(loss_pair("l1_loss", l1_loss));
  t.push_back({"smooth_l1_loss", "input, target", "reduction (mean), beta (1.0)", "", [](OpArgs& a) {
                 return one(smooth_l1_loss(a.in("input"), a.in("target"), reduction(a), a.f("beta", 1.0)));
               }});
  t.push_back({"binary_cross_entropy_with_logits", "input, target, [weight], [pos_weight]", "reduction (mean)", "",
               [](OpArgs& a) {
                 return one(binary_cross_entropy_with_logits(a.in("input"), a.in("target"), a.opt("weight"),
                                                             a.opt("pos_weight"), reduction(a)));
               }});
  t.push_back({"cross_entropy", "input, target, [weight]", "ignore_index (-100), reduction (mean), label_smoothing (0)",
               "weight", [](OpArgs& a) {
                 return one(cross_entropy(a.in("input"), a.in("target"), a.opt("weight"), a.i("ignore_index", -100),
                                          reduction(a), a.f("label_smoothing", 0.0)));
               }});
  t.push_back({"nll_loss", "input, target, [weight]", "ignore_index (-100), reduction (mean)", "weight", [](OpArgs& a) {
                 return one(
                     nll_loss(a.in("input"), a.in("target"), a.opt("weight"), a.i("ignore_index", -100), reduction(a)));
               }});
  t.push_back({"kl_div", "input, target", "reduction (mean; also batchmean), log_target (false)", "", [](OpArgs& a) {
                 return one(kl_div(a.in("input"), a.in("target"), reduction(a), a.b("log_target", false)));
               }});
}

// The built-in ops in the order `detgrad ref --list` prints them.
std::vector<OpSpec> build_table() {
  std::vector<OpSpec> t;
  add_elementwise_ops(t);
  add_reduction_ops(t);
  add_matmul_ops(t);
  add_shape_ops(t);
  add_activation_ops(t);
  add_loss_ops(t);
  return t;
}
}  // namespace

static std::vector<OpSpec>& table() {
  static std::vector<OpSpec> t = [] {
    std::vector<OpSpec> v = build_table();
    add_conv_ref_ops(v);
    add_nn_ref_ops(v);
    return v;
  }();
  return t;
}

const std::vector<OpSpec>& ref_ops() { return table(); }

void add_ref_ops(std::vector<OpSpec> ops) {
  for (OpSpec& s : ops) {
    for (const OpSpec& have : table()) check(have.name != s.name, "add_ref_ops: op '", s.name, "' registered twice");
    table().push_back(std::move(s));
  }
}

const OpSpec& find_ref_op(const std::string& name) {
  for (const OpSpec& s : ref_ops())
    if (s.name == name) return s;
  std::string known;
  for (const OpSpec& s : ref_ops()) known += (known.empty() ? "" : ", ") + s.name;
  fail("unknown op '", name, "'; known ops: ", known);
}

// ---- running one op with its backward ------------------------------------------------------------
Tensor ref_cast(const Tensor& t, DType to, int64_t* changed) {
  check(is_floating(to), "ref_cast: ", dtype_name(to), " is not a floating dtype");
  check(is_floating(t.dtype()), "ref_cast: cannot cast a ", dtype_name(t.dtype()), " tensor to ", dtype_name(to));
  Tensor r = t.detach().to(to);
  if (changed) {
    // Widening is exact, so comparing in f64 sees every change the narrowing made.
    const std::vector<double> a = t.to_vector(), b = r.to_vector();
    int64_t n = 0;
    for (size_t k = 0; k < a.size(); ++k) n += !(a[k] == b[k] || (std::isnan(a[k]) && std::isnan(b[k])));
    *changed = n;
  }
  return r;
}

RefResult run_ref(const std::string& op, const std::vector<std::pair<std::string, Tensor>>& inputs,
                  const std::map<std::string, std::string>& attrs, const std::vector<Tensor>& grad_outs) {
  const OpSpec& spec = find_ref_op(op);
  DType fdt = DType::f32;
  bool have_float = false;
  std::vector<std::pair<std::string, Tensor>> leaves;
  for (auto& [name, t] : inputs) {
    check(t.defined(), op, ": input '", name, "' is undefined");
    if (is_floating(t.dtype())) {
      check(!have_float || t.dtype() == fdt, op, ": floating inputs must share one dtype; '", name, "' is ",
            dtype_name(t.dtype()), ", an earlier one is ", dtype_name(fdt));
      fdt = t.dtype();
      have_float = true;
    }
    Tensor leaf = t.contiguous_copy_no_grad();
    bool constant = ("," + spec.constants + ",").find("," + name + ",") != std::string::npos;
    if (is_floating(leaf.dtype()) && !constant) leaf.set_requires_grad(true);
    leaves.push_back({name, leaf});
  }
  OpArgs args(op, leaves, attrs);
  RefResult res;
  res.outputs = spec.run(args);
  args.check_all_used();

  Tensor L;
  size_t float_k = 0;
  for (const Tensor& out : res.outputs) {
    if (!is_floating(out.dtype())) continue;
    Tensor go = float_k < grad_outs.size() && grad_outs[float_k].defined() ? grad_outs[float_k] : ones_like(out);
    ++float_k;
    check(go.shape() == out.shape(), op, ": grad_out ", float_k - 1, " has shape ", shape_text(go.shape()),
          ", output has shape ", shape_text(out.shape()));
    if (is_half(out.dtype()) && (go.dtype() == DType::f32 || go.dtype() == DType::f64)) {
      int64_t changed = 0;
      go = ref_cast(go, out.dtype(), &changed);
      res.notes.push_back("grad_out " + std::to_string(float_k - 1) + " rounded to " + dtype_name(out.dtype()) + ": " +
                          std::to_string(changed) + " of " + std::to_string(go.numel()) + " values changed");
    }
    check(go.dtype() == out.dtype(), op, ": grad_out ", float_k - 1, " is ", dtype_name(go.dtype()), ", output is ",
          dtype_name(out.dtype()));
    if (!out.requires_grad()) continue;
    Tensor term = sum(mul(out, go.detach()));
    L = L.defined() ? add(L, term) : term;
  }
  check(float_k >= grad_outs.size(), op, ": ", grad_outs.size(), " grad_out arrays given but the op has only ", float_k,
        " floating-point outputs");
  if (L.defined()) L.backward();

  std::map<std::string, int> seen;
  std::map<std::string, int> count;
  for (auto& [name, t] : leaves) ++count[name];
  for (auto& [name, t] : leaves) {
    int k = seen[name]++;
    if (!t.requires_grad()) continue;
    std::string key = count[name] > 1 || spec.inputs.find(name + "...") != std::string::npos
                          ? name + "_" + std::to_string(k)
                          : name;
    res.grads.push_back({key, t.grad().defined() ? t.grad() : zeros_like(t)});
  }
  return res;
}

}  // namespace dg
