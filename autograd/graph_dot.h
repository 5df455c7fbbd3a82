// The tape drawn: the Nodes behind some tensors (graph.h) as Graphviz DOT, the picture micrograd's
// draw_dot and torchviz's make_dot give. Render with `dot -Tsvg g.dot -o g.svg` (`detgrad graph` does).
//
//   tensor   an ellipse: its name when known (a parameter, an input, a root), shape and dtype; with
//            opt.values and at most opt.max_values elements, its values and gradient ("data 2.0 |
//            grad -3.0"); an SVG tooltip with min / max / mean of the value and of the gradient
//   op       a box with the op's name (the Node's name: "mul", "conv2d", ...)
//   edges    input tensor -> op -> output tensor, in the op's argument order
//
// Values exist only while something holds the tensor (Node::output is a weak reference): leaves,
// roots and whatever the caller keeps. Gradients of leaves are their .grad; of the others, what a
// backward under RetainGradsGuard stored.
//
// For models: ops recorded under scope recording carry a module path ("layer1.0.conv1"); ops of the
// same path sit in one cluster. With opt.depth = d >= 0 every module at depth d (the root is depth 0,
// its children 1, ...) becomes one box holding every op recorded inside it ("layer1\n38 ops"), its
// parameters hidden, the edges into and out of it labelled with the shapes crossing them; ops outside
// those modules stay drawn one by one.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace dg {

struct DotOptions {
  bool values = false;     // print values and gradients of small tensors (the micrograd picture)
  int64_t max_values = 4;  // "small": at most this many elements
  int depth = -1;          // merge the ops of each module at this depth into one box (< 0: never)
  std::string title;       // a label over the whole picture
};

// The graph behind `roots` (each drawn with its name). `named` gives names to other tensors (leaves
// such as parameters "layer1.0.conv1.weight" or the input "x", or intermediates the caller holds).
// Deterministic: the same graph gives the same text.
std::string graph_dot(const std::vector<std::pair<std::string, Tensor>>& roots,
                      const std::vector<std::pair<std::string, Tensor>>& named = {}, const DotOptions& opt = {});

}  // namespace dg
