#include "autograd/graph.h"

#include <unordered_map>

#include "autograd/kernels/half.h"

namespace dg {

static thread_local bool g_grad_enabled = true;
static thread_local bool g_scope_recording = false;
static thread_local std::vector<std::string> g_scopes;
static thread_local bool g_retain_grads = false;

void set_scope_recording(bool on) { g_scope_recording = on; }
bool scope_recording() { return g_scope_recording; }
ScopeGuard::ScopeGuard(const std::string& name) { g_scopes.push_back(name); }
ScopeGuard::~ScopeGuard() { g_scopes.pop_back(); }
RetainGradsGuard::RetainGradsGuard() : prev_(g_retain_grads) { g_retain_grads = true; }
RetainGradsGuard::~RetainGradsGuard() { g_retain_grads = prev_; }

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward) {
  if (!needs_grad(inputs)) return out;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    Edge e;
    if (t.defined()) {
      e.shape = t.shape();
      e.dtype = t.dtype();
      if (t.requires_grad()) {
        if (t.grad_fn()) e.fn = t.grad_fn();
        else e.leaf = t.impl_ptr();
      }
    }
    node->inputs.push_back(std::move(e));
  }
  node->backward = std::move(backward);
  node->output = out.impl_ptr();
  if (g_scope_recording && !g_scopes.empty()) node->scope = g_scopes.back();
  out.impl()->requires_grad = true;
  out.impl()->grad_fn = std::move(node);
  return out;
}

// Post-order DFS from the root: every Node appears after all Nodes that consume its output... reversed.
// Iterative (deep graphs must not overflow the stack) and deterministic (inputs visited in order).
static std::vector<Node*> topo_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_map<Node*, bool> visited;
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  visited[root] = true;
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      Node* child = node->inputs[next++].fn.get();
      if (child && !visited[child]) {
        visited[child] = true;
        stack.push_back({child, 0});
      }
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;  // post-order: inputs before consumers; walk it backwards
}

// Two gradients meeting at one tensor: a fresh slot + g (never in place: a backward closure may still
// hold slot). Same shape and dtype (the caller checks). Half gradients add in f32 and round once, as
// the f16/bf16 ops do (autograd/ops/elementwise.cpp), so the bits equal add(slot, g).
template <class T>
static void add_into(const T* a, const T* b, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}
static Tensor sum_of_grads(const Tensor& a, const Tensor& b) {
  check(a.dtype() == b.dtype() && a.shape() == b.shape(), "backward: cannot add a gradient of ", dtype_name(b.dtype()),
        " ", shape_text(b.shape()), " to one of ", dtype_name(a.dtype()), " ", shape_text(a.shape()));
  Tensor out = Tensor::empty(a.shape(), a.dtype());
  const int64_t n = a.numel();
  switch (a.dtype()) {
    case DType::f32: add_into(a.data<float>(), b.data<float>(), out.data<float>(), n); break;
    case DType::f64: add_into(a.data<double>(), b.data<double>(), out.data<double>(), n); break;
    case DType::f16:
    case DType::bf16: {
      const bool f16 = a.dtype() == DType::f16;
      const auto* pa = static_cast<const uint16_t*>(a.raw());
      const auto* pb = static_cast<const uint16_t*>(b.raw());
      auto* po = static_cast<uint16_t*>(out.raw());
      for (int64_t i = 0; i < n; ++i)
        po[i] = f16 ? kernels::f32_to_f16(kernels::f16_to_f32(pa[i]) + kernels::f16_to_f32(pb[i]))
                    : kernels::f32_to_bf16(kernels::bf16_to_f32(pa[i]) + kernels::bf16_to_f32(pb[i]));
      break;
    }
    default: fail("backward: cannot accumulate gradients of dtype ", dtype_name(a.dtype()));
  }
  return out;
}

static void accumulate(Tensor& slot, const Tensor& g) { slot = slot.defined() ? sum_of_grads(slot, g) : g; }

void run_backward(const Tensor& root, const Tensor& grad_output, bool retain_graph) {
  check(root.defined(), "backward: called on an undefined tensor");
  check(root.requires_grad(), "backward: tensor of shape ", shape_text(root.shape()),
        " does not require grad (no input of the computation had requires_grad set)");
  Tensor seed = grad_output;
  if (!seed.defined()) {
    check(root.numel() == 1, "backward: output of shape ", shape_text(root.shape()),
          " is not a scalar; pass an explicit gradient of the same shape");
    seed = ones(root.shape(), root.dtype());
  }
  check(seed.shape() == root.shape(), "backward: gradient shape ", shape_text(seed.shape()),
        " differs from output shape ", shape_text(root.shape()));
  check(seed.dtype() == root.dtype(), "backward: gradient dtype ", dtype_name(seed.dtype()),
        " differs from output dtype ", dtype_name(root.dtype()));

  NoGradGuard no_grad;  // backward closures build no graph of their own
  if (root.is_leaf()) {
    Tensor g = root.grad();
    accumulate(g, seed.contiguous_copy_no_grad());
    root.impl()->grad = g;
    return;
  }
  Node* top = root.grad_fn().get();
  check(!top->released, "backward: the graph behind this ", top->name,
        " output was already freed by "
        "an earlier backward(); call backward(grad, /*retain_graph=*/true) the first time to run it twice");

  std::vector<Node*> order = topo_order(top);
  std::unordered_map<Node*, Tensor> grads;
  grads[top] = seed;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = *it;
    check(!node->released, "backward: part of this graph (", node->name,
          ") was already freed by an "
          "earlier backward(); use retain_graph=true on the first call");
    auto found = grads.find(node);
    if (found == grads.end()) continue;  // no gradient reached this node
    Tensor g = std::move(found->second);
    grads.erase(found);
    if (g_retain_grads)
      if (std::shared_ptr<TensorImpl> out = node->output.lock()) out->grad = g;
    std::vector<Tensor> in_grads = node->backward(g);
    check(in_grads.size() == node->inputs.size(), "backward of ", node->name, " returned ", in_grads.size(),
          " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < in_grads.size(); ++i) {
      const Edge& e = node->inputs[i];
      const Tensor& gi = in_grads[i];
      if (!e.needed() || !gi.defined()) continue;
      check(gi.shape() == e.shape, "backward of ", node->name, ": gradient for input ", i, " has shape ",
            shape_text(gi.shape()), ", input has shape ", shape_text(e.shape));
      check(gi.dtype() == e.dtype, "backward of ", node->name, ": gradient for input ", i, " is ",
            dtype_name(gi.dtype()), ", input is ", dtype_name(e.dtype));
      if (e.fn) {
        accumulate(grads[e.fn.get()], gi);
      } else {
        Tensor acc = e.leaf->grad;
        // A fresh copy the first time, so .grad never aliases a tensor the graph still uses.
        accumulate(acc, acc.defined() ? gi : gi.contiguous_copy_no_grad());
        e.leaf->grad = acc;
      }
    }
    if (!retain_graph) {
      node->backward = nullptr;  // frees everything the closure saved
      node->released = true;
    }
  }
}

}  // namespace dg
