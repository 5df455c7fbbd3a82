// Module: the base of every layer, block and backbone (like torch.nn.Module).
//
// A Module owns named parameters (leaf tensors that require grad), named buffers (state that is saved
// but not trained: BatchNorm's running statistics) and named children, all kept in registration
// order. Everything else follows from that order:
//   parameters()/named_parameters()  this module's parameters, then each child's, depth first
//   state_dict()                     for every module depth first: its parameters, then its buffers,
//                                    keys joined with '.' ("layer1.0.conv1.weight") -- the exact
//                                    order and keys PyTorch gives the equivalent model
//   train()/eval()                   set the mode of the whole tree (BatchNorm, Dropout read it)
//
// NOTE [ Parameters are updated in place ]
// A layer keeps its parameters as Tensor members (handles to shared TensorImpls) and registers the
// same handles here. Loading a state_dict copies values into the existing storage, and to(dtype)
// swaps the storage inside the existing TensorImpl, so the layer's members, the registry and any
// optimiser holding parameters() all keep seeing the same tensors.
//
// Calling a module: m(x) runs forward(x) and then, if a forward hook was installed with
// set_forward_hook, reports (prefix, output) to it. Blocks call their children through operator(),
// so a hook on the root sees every submodule's output named by its state_dict prefix.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/graph.h"
#include "autograd/tensor.h"

namespace dg::nn {

// Ordered name -> tensor list (a state_dict, or named parameters).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using StateDict = NamedTensors;

class Module;
using ModulePtr = std::shared_ptr<Module>;

// Called after a module's forward with its state_dict prefix ("layer1.0.conv1") and its output.
using ForwardHook = std::function<void(const std::string& prefix, const Tensor& output)>;

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The computation. The default throws: modules with several inputs or outputs (FPN, backbones
  // returning features) offer their own named methods instead.
  virtual Tensor forward(const Tensor& x);
  // forward(x), then the hook (if any) with this module's prefix.
  Tensor operator()(const Tensor& x);
  // Reports an output to the hook under this module's prefix; for modules whose main method is not
  // forward (multi-input/multi-output) to call themselves.
  void report(const Tensor& output) const;

  const std::string& type_name() const { return type_name_; }

  // ---- registration (constructors only) ----
  // p becomes a leaf that requires grad; returns the same handle.
  Tensor register_parameter(const std::string& name, Tensor p);
  Tensor register_buffer(const std::string& name, Tensor b);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

  // ---- traversal (deterministic: registration order, depth first) ----
  std::vector<Tensor> parameters() const;
  NamedTensors named_parameters(const std::string& prefix = "") const;
  NamedTensors named_buffers(const std::string& prefix = "") const;
  const std::vector<std::pair<std::string, ModulePtr>>& children() const { return children_; }
  // This module (name = prefix) and every descendant, with full dotted names.
  std::vector<std::pair<std::string, Module*>> named_modules(const std::string& prefix = "");
  int64_t num_parameters() const;  // total number of parameter elements
  const NamedTensors& own_parameters() const { return params_; }
  const NamedTensors& own_buffers() const { return buffers_; }

  // ---- mode ----
  void train(bool on = true);  // this module and all descendants
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // ---- state ----
  // Parameters and buffers of every module, depth first (PyTorch's keys and order). The tensors are
  // the live ones (not copies): save them, don't modify them.
  StateDict state_dict() const;
  // Copies every entry into the matching tensor (converting dtype). strict: any missing,
  // unexpected or mis-shaped key is an error listing all of them; non-strict skips missing and
  // unexpected keys but still rejects mis-shaped ones.
  void load_state_dict(const StateDict& sd, bool strict = true);

  // Converts every floating parameter and buffer to dtype (in place, see NOTE above); integer
  // buffers (num_batches_tracked) stay i64. Drops accumulated gradients.
  void to(DType dtype);
  void zero_grad();  // drops every parameter's .grad
  // Freezes (false) or unfreezes every parameter of this subtree, e.g. a backbone's stem as
  // torchvision's trainable_backbone_layers does. Frozen parameters get no .grad.
  void set_requires_grad(bool on);

  // Installs hook on this module and every descendant (prefix = state_dict prefix; the root's is
  // ""). An empty function removes it.
  void set_forward_hook(const ForwardHook& hook);
  // Every module's state_dict prefix (what hooks and scopes name it by), without a hook.
  void set_prefixes() { set_forward_hook({}); }

  // One line per module, indented, like printing a torch module.
  std::string str() const;
  // Extra text in str() after the type name, e.g. "3, 64, kernel_size=7, stride=2".
  virtual std::string extra_repr() const { return ""; }
  // Multiply-adds of one call of this module alone (not its children) that produced `output`, for
  // the model summary (layers/summary.h has the counting rules). The default: 0.
  virtual int64_t multiply_adds(const Tensor& output) const { return 0; }

 protected:
  // For methods other than forward (features, a multi-level FPN): while the tape is being drawn
  // (scope recording, autograd/graph.h), the ops they record are grouped under this module's prefix;
  // null otherwise. operator() does the same for forward.
  std::unique_ptr<ScopeGuard> enter_scope() const;

 private:
  void add_child(const std::string& name, ModulePtr m);
  void check_new_name(const std::string& name) const;
  void str_into(std::string& out, const std::string& name, int indent) const;

  std::string type_name_;
  bool training_ = true;
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, ModulePtr>> children_;
  ForwardHook hook_;
  std::string prefix_;
};

}  // namespace dg::nn
