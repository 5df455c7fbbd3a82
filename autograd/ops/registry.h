// The op registry behind `detgrad ref` and the golden tests: every op by its PyTorch name, with its
// named inputs and string attributes, and one function that runs it and its backward.
// The table of ops is docs/ref.md; `detgrad ref --list` prints the same from this registry.
#pragma once
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace dg {

// Inputs by name (a list input repeats its name) and attributes as command-line strings.
class OpArgs {
 public:
  OpArgs(std::string op, std::vector<std::pair<std::string, Tensor>> inputs, std::map<std::string, std::string> attrs);

  const Tensor& in(const std::string& name);          // required input
  Tensor opt(const std::string& name);                // optional input (undefined if absent)
  std::vector<Tensor> list(const std::string& name);  // list input (>= 1 entries)
  bool has_attr(const std::string& key) const;        // given and not "none"
  double f(const std::string& key, double dflt);
  double f(const std::string& key);  // required
  int64_t i(const std::string& key, int64_t dflt);
  int64_t i(const std::string& key);  // required
  bool b(const std::string& key, bool dflt);
  std::string s(const std::string& key, const std::string& dflt);
  // The literal string, "none" included (for reduction=none, where "none" is a value, not Python's None).
  std::string literal(const std::string& key, const std::string& dflt);
  std::vector<int64_t> ints(const std::string& key);  // "0,2" -> {0, 2}; absent/"none" -> {}
  const std::map<std::string, std::string>& all_attrs() const { return attrs_; }
  void mark_used(const std::string& key) { used_attrs_.insert(key); }  // for attrs read via all_attrs()
  // After the op ran: unknown inputs or attributes are errors (a typo must not be silently ignored).
  void check_all_used() const;

 private:
  const std::string* attr(const std::string& key);
  std::string op_;
  std::vector<std::pair<std::string, Tensor>> inputs_;
  std::map<std::string, std::string> attrs_;
  std::set<std::string> used_inputs_, used_attrs_;
};

struct OpSpec {
  std::string name;
  std::string inputs;     // e.g. "input, other" ; "[weight]" optional ; "tensors..." list
  std::string attrs;      // e.g. "dim (none), keepdim (false)"
  std::string constants;  // inputs that take no gradient (class weights), comma-separated
  std::function<std::vector<Tensor>(OpArgs&)> run;
};

// Every registered op: the core ops of this file, conv ops (ref_conv.cpp), nn ops (ref_nn.cpp), and
// whatever upper layers added with add_ref_ops (see detectors/ref/ref_ops.h).
const std::vector<OpSpec>& ref_ops();
const OpSpec& find_ref_op(const std::string& name);  // throws with the list of known ops
void add_ref_ops(std::vector<OpSpec> ops);           // upper layers; a duplicate name is an error

// Per-family tables, one file each, so families grow without touching each other.
void add_conv_ref_ops(std::vector<OpSpec>& table);  // autograd/ops/ref_conv.cpp
void add_nn_ref_ops(std::vector<OpSpec>& table);    // autograd/ops/ref_nn.cpp

struct RefResult {
  std::vector<Tensor> outputs;
  // (name, gradient) for every floating-point input that takes a gradient; list inputs are named
  // NAME_0, NAME_1, ...
  std::vector<std::pair<std::string, Tensor>> grads;
  std::vector<std::string> notes;  // e.g. an f32 grad_out rounded to a half output's dtype
};

// t cast to the floating dtype `to` (round to nearest even when narrowing); *changed (if given) is the
// number of elements whose value the cast changed (NaN -> NaN counts as unchanged). `detgrad ref` uses
// it for bf16 inputs, which arrive as f4 files because NumPy has no bf16.
Tensor ref_cast(const Tensor& t, DType to, int64_t* changed = nullptr);

// Runs op on the inputs, then backward of sum_k sum(out_k * grad_outs[k]) (ones where grad_outs is
// shorter or an entry is undefined). Floating inputs must share one dtype; math runs in it. A grad_out
// for an f16/bf16 output may be f32 or f64: it is rounded with ref_cast and a note says how many values
// changed (a .npy file cannot hold bf16).
RefResult run_ref(const std::string& op, const std::vector<std::pair<std::string, Tensor>>& inputs,
                  const std::map<std::string, std::string>& attrs, const std::vector<Tensor>& grad_outs = {});

}  // namespace dg
