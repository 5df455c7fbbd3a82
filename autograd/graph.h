// The tape. An op whose inputs need gradients records a Node: its inputs in order (a vector, so
// traversal is deterministic) and a backward closure that maps the output's gradient to one gradient
// per input. Tensor::backward() walks the Nodes in reverse topological order, sums the gradients
// flowing into each Node, and accumulates leaf gradients into .grad. See docs/autograd.md.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace dg {

// grad_output -> one gradient per input (an undefined Tensor where an input needs none).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

// Where an input's gradient goes: to the Node that produced it, or straight into a leaf's .grad.
struct Edge {
  std::shared_ptr<Node> fn;          // producer of the input (non-leaf)
  std::shared_ptr<TensorImpl> leaf;  // the input itself (leaf that requires grad)
  Shape shape;                       // the input's shape: backward must return exactly this
  DType dtype = DType::f32;
  bool needed() const { return fn || leaf; }
};

struct Node {
  std::string name;          // the op's name, for error messages and graph printing
  std::vector<Edge> inputs;  // in the op's argument order
  BackwardFn backward;
  bool released = false;  // set once backward ran without retain_graph
  // For drawing the tape (autograd/graph_dot.h), never for computing: the output while it lives, and
  // the module scope it was recorded in ("" unless scope recording was on).
  std::weak_ptr<TensorImpl> output;
  std::string scope;
};

// Is gradient recording on? (off inside a NoGradGuard and while a backward pass runs)
bool grad_enabled();

// Scope in which ops record nothing: for inference, optimiser steps, and backward closures.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True when recording is on and some input requires grad.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Attach a Node to `out` if any input requires grad (and recording is on); returns out.
// Closures should capture saved values through detach() so the graph holds no cycles.
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward);

// ---- for drawing the tape (autograd/graph_dot.h) ----
// While scope recording is on (off by default), every Node records the innermost ScopeGuard's name:
// layers/module.h pushes each module's state_dict prefix around its forward, so a drawn graph can
// group the ops by module.
void set_scope_recording(bool on);
bool scope_recording();
class ScopeGuard {
 public:
  explicit ScopeGuard(const std::string& name);
  ~ScopeGuard();
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
};
// While alive, backward also stores the gradient reaching every non-leaf tensor in its .grad (as
// PyTorch's retain_grad on every tensor), so the micrograd picture can show it. Off by default.
class RetainGradsGuard {
 public:
  RetainGradsGuard();
  ~RetainGradsGuard();
  RetainGradsGuard(const RetainGradsGuard&) = delete;
  RetainGradsGuard& operator=(const RetainGradsGuard&) = delete;

 private:
  bool prev_;
};

// The engine behind Tensor::backward.
void run_backward(const Tensor& root, const Tensor& grad_output, bool retain_graph);

}  // namespace dg
