// `detgrad ref OP --in NAME=FILE.npy ... --attr KEY=VALUE ... [--grad-out FILE.npy ...] --out DIR`
// Runs one op of the registry (autograd/ops/registry.h) and writes DIR/out.npy (out0, out1, ... for
// several outputs) and DIR/grad_NAME.npy for every floating input. See docs/ref.md.
// Half precision (docs/ref.md, "Half precision"): f2 files are f16 inputs; `--in NAME:DTYPE=FILE` or
// `--attr input_dtype=DTYPE` casts floating inputs (bf16 arrives as f4: NumPy has no bf16), rounding
// to nearest even with a note of how many values changed; `--attr autocast=fp16|bf16` runs the op and
// its backward inside dg::amp::Autocast.
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "autograd/autocast.h"
#include "autograd/io/tensor_npy.h"
#include "autograd/ops/registry.h"
#include "layers/model_zoo.h"
#include "tools/commands.h"

namespace dg::tools {

namespace {
struct RefOptions {
  std::string op;
  std::vector<std::string> inputs, attrs, grad_outs;
  std::string out;
  bool list = false;
  std::string weights;              // model:NAME only
  bool dump_intermediates = false;  // model:NAME only
};

std::pair<std::string, std::string> split_kv(const std::string& s, const char* what) {
  auto eq = s.find('=');
  check(eq != std::string::npos && eq > 0, "ref: ", what, " '", s, "' must look like NAME=VALUE");
  return {s.substr(0, eq), s.substr(eq + 1)};
}

int print_list() {
  std::printf("%-34s %-44s %s\n", "op", "inputs", "attributes (default)");
  for (const OpSpec& s : ref_ops()) {
    std::string in = s.inputs;
    if (!s.constants.empty()) in += "  (no grad: " + s.constants + ")";
    std::printf("%-34s %-44s %s\n", s.name.c_str(), in.c_str(), s.attrs.c_str());
  }
  std::printf(
      "\nwhole models (eval mode; docs/layers.md): detgrad ref model:NAME --weights W.safetensors --in input=X.npy "
      "--out DIR [--dump-intermediates]\n");
  for (const std::string& m : nn::model_names()) std::printf("model:%s\n", m.c_str());
  return 0;
}

// `detgrad ref model:NAME --weights W.safetensors --in input=X.npy --out DIR [--dump-intermediates]`:
// a whole torchvision-equivalent model in eval mode (layers/model_zoo.h); DIR/out.npy holds the logits
// and, with --dump-intermediates, DIR/<state_dict prefix>.npy every submodule's output.
int run_model_ref(const RefOptions& o, const std::string& name) {
  check(!o.weights.empty(), "ref model:", name, ": --weights FILE.safetensors is required");
  check(o.inputs.size() == 1 && o.attrs.empty() && o.grad_outs.empty(), "ref model:", name,
        ": takes exactly one --in input=FILE.npy (no --attr, no --grad-out)");
  auto [in_name, file] = split_kv(o.inputs[0], "--in");
  check(in_name == "input", "ref model:", name, ": the input is called 'input', got '", in_name, "'");
  nn::ModelRun r = nn::run_model(name, o.weights, io::load_npy(file), o.dump_intermediates);
  std::filesystem::create_directories(o.out);
  io::save_npy(o.out + "/out.npy", r.output);
  for (auto& [prefix, t] : r.intermediates) io::save_npy(o.out + "/" + prefix + ".npy", t);
  std::printf("ref model:%s: wrote out.npy %s and %zu intermediate(s) to %s\n", name.c_str(),
              shape_str(r.output.shape()).c_str(), r.intermediates.size(), o.out.c_str());
  return 0;
}

// The dtype named after ':' in an --in name (input:bf16) or by --attr input_dtype; "fp16" is f16.
DType floating_dtype_from_name(const std::string& s, const std::string& where) {
  const std::string name = s == "fp16" ? "f16" : s;
  for (DType d : {DType::f16, DType::bf16, DType::f32, DType::f64})
    if (name == dtype_name(d)) return d;
  fail("ref: ", where, " '", s, "' is not a floating dtype (f16, bf16, f32 or f64)");
}

// Input `name` from file, cast to `to` if given (round to nearest even; a note counts changed values).
// A dtype named for this one input must fit it; input_dtype for all inputs leaves integer ones alone.
Tensor load_input(const std::string& name, const std::string& file, std::optional<DType> to, bool named_for_it) {
  Tensor t = io::load_npy(file);
  if (!to || t.dtype() == *to || (!named_for_it && !is_floating(t.dtype()))) return t;
  check(is_floating(t.dtype()), "ref: input '", name, "' is ", dtype_name(t.dtype()), " and cannot be cast to ",
        dtype_name(*to), " (only floating inputs can)");
  int64_t changed = 0;
  Tensor r = ref_cast(t, *to, &changed);
  std::printf("ref: note: input '%s' cast %s -> %s: %lld of %lld values changed\n", name.c_str(), dtype_name(t.dtype()),
              dtype_name(*to), (long long)changed, (long long)t.numel());
  return r;
}

int run(const RefOptions& o) {
  if (o.list) return print_list();
  check(!o.op.empty(), "ref: which op? (detgrad ref OP ..., or detgrad ref --list)");
  check(!o.out.empty(), "ref: --out DIR is required");
  if (o.op.rfind("model:", 0) == 0) return run_model_ref(o, o.op.substr(6));
  check(o.weights.empty() && !o.dump_intermediates, "ref: --weights and --dump-intermediates are for model:NAME only");
  find_ref_op(o.op);  // unknown op: fail before reading files
  std::map<std::string, std::string> attrs;
  for (const std::string& s : o.attrs) {
    auto [k, v] = split_kv(s, "--attr");
    check(!attrs.count(k), "ref: attribute '", k, "' given twice");
    attrs[k] = v;
  }
  // input_dtype and autocast belong to ref itself, not to the op.
  std::optional<DType> all_inputs_to, autocast_low;
  if (auto it = attrs.find("input_dtype"); it != attrs.end()) {
    all_inputs_to = floating_dtype_from_name(it->second, "input_dtype");
    attrs.erase(it);
  }
  if (auto it = attrs.find("autocast"); it != attrs.end()) {
    if (it->second != "none") autocast_low = amp::amp_dtype_from_name(it->second);
    attrs.erase(it);
  }
  std::vector<std::pair<std::string, Tensor>> inputs;
  for (const std::string& s : o.inputs) {
    auto [name, file] = split_kv(s, "--in");
    std::optional<DType> to = all_inputs_to;
    const auto colon = name.find(':');
    if (colon != std::string::npos) {  // --in input:bf16=x.npy
      to = floating_dtype_from_name(name.substr(colon + 1), "--in " + name + ": the dtype");
      name = name.substr(0, colon);
    }
    inputs.push_back({name, load_input(name, file, to, colon != std::string::npos)});
  }
  std::vector<Tensor> grad_outs;
  for (const std::string& f : o.grad_outs) grad_outs.push_back(io::load_npy(f));
  RefResult r;
  {
    std::optional<amp::Autocast> scope;  // forward and backward inside the scope, as a training step
    if (autocast_low) scope.emplace(*autocast_low);
    r = run_ref(o.op, inputs, attrs, grad_outs);
  }
  for (const std::string& n : r.notes) std::printf("ref: note: %s\n", n.c_str());
  std::filesystem::create_directories(o.out);
  for (size_t k = 0; k < r.outputs.size(); ++k) {
    std::string name = r.outputs.size() == 1 ? "out.npy" : "out" + std::to_string(k) + ".npy";
    io::save_npy(o.out + "/" + name, r.outputs[k]);
  }
  for (auto& [name, g] : r.grads) io::save_npy(o.out + "/grad_" + name + ".npy", g);
  std::printf("ref %s: wrote %zu output(s) and %zu gradient(s) to %s\n", o.op.c_str(), r.outputs.size(), r.grads.size(),
              o.out.c_str());
  return 0;
}
}  // namespace

std::function<int()> add_ref_command(CLI::App& app) {
  auto o = std::make_shared<RefOptions>();
  CLI::App* c = app.add_subcommand("ref", "run one op on .npy inputs; write outputs and gradients (docs/ref.md)");
  c->add_option("op", o->op, "op name, as in PyTorch's functional API (see --list)");
  c->add_option("--in", o->inputs,
                "NAME=FILE.npy, an input by its PyTorch argument name (repeat for lists); NAME:bf16=FILE.npy "
                "rounds it to bf16 (also f16, f32, f64)");
  c->add_option("--attr", o->attrs,
                "KEY=VALUE, an attribute (lists comma-separated, true/false, none); ref's own: "
                "input_dtype=f16|bf16|f32|f64 (every floating input), autocast=fp16|bf16");
  c->add_option("--grad-out", o->grad_outs, "upstream gradient per floating output, in order (default: ones)");
  c->add_option("--out", o->out, "directory for out*.npy and grad_*.npy");
  c->add_flag("--list", o->list, "list every op with its inputs and attributes");
  c->add_option("--weights", o->weights, "model:NAME only: safetensors file with the model's state_dict");
  c->add_flag("--dump-intermediates", o->dump_intermediates, "model:NAME only: also write every submodule's output");
  return [o] { return run(*o); };
}

}  // namespace dg::tools
