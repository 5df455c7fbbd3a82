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

// The engine behind Tensor::backward.
void run_backward(const Tensor& root, const Tensor& grad_output, bool retain_graph);

}  // namespace dg
