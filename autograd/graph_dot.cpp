// The tape as Graphviz DOT (see graph_dot.h). Legend: op k is the k-th Node found walking from the
// roots (inputs in order); "t<k>" is its output tensor, "l<j>" the j-th leaf, "g<i>" a merged group.
#include "autograd/graph_dot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>

#include "autograd/graph.h"

namespace dg {

namespace {

std::string escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '\n') {
      r += "\\n";  // Graphviz's centred line break
      continue;
    }
    if (c == '"' || c == '\\') r += '\\';
    r += c;
  }
  return r;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string shape_label(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

// "min a  max b  mean c" of a tensor's elements (empty tensors: "empty").
std::string stats(const Tensor& t) {
  const std::vector<double> v = t.to_vector();
  if (v.empty()) return "empty";
  double lo = v[0], hi = v[0], sum = 0;
  for (double x : v) lo = std::min(lo, x), hi = std::max(hi, x), sum += x;
  return "min " + num(lo) + "  max " + num(hi) + "  mean " + num(sum / (double)v.size());
}

std::string values(const Tensor& t) {
  std::string r;
  for (double x : t.to_vector()) r += (r.empty() ? "" : " ") + num(x);
  return r;
}

// The first `depth` components of a dotted path.
std::string prefix_of(const std::string& path, int depth) {
  size_t at = 0;
  for (int d = 0; d < depth; ++d) {
    at = path.find('.', at);
    if (at == std::string::npos) return path;
    ++at;
  }
  return depth == 0 ? "" : path.substr(0, at - 1);
}

int depth_of(const std::string& path) {
  if (path.empty()) return 0;
  int d = 1;
  for (char c : path) d += c == '.';
  return d;
}

struct Graph {
  std::vector<Node*> ops;  // discovery order
  std::unordered_map<Node*, size_t> op_id;
  std::vector<std::shared_ptr<TensorImpl>> leaves;  // discovery order
  std::unordered_map<TensorImpl*, size_t> leaf_id;
  std::unordered_map<Node*, const Edge*> consumed_as;  // an edge reading each op's output (its shape, dtype)
};

// Depth-first from the roots, inputs in argument order: the numbering is deterministic.
Graph walk(const std::vector<std::pair<std::string, Tensor>>& roots) {
  Graph g;
  std::vector<Node*> stack;
  auto visit = [&](Node* n) {
    if (!n || g.op_id.count(n)) return;
    g.op_id[n] = g.ops.size();
    g.ops.push_back(n);
    stack.push_back(n);
  };
  auto visit_leaf = [&](const std::shared_ptr<TensorImpl>& l) {
    if (!l || g.leaf_id.count(l.get())) return;
    g.leaf_id[l.get()] = g.leaves.size();
    g.leaves.push_back(l);
  };
  for (const auto& [name, t] : roots) {
    if (!t.defined()) continue;
    if (t.grad_fn()) visit(t.grad_fn().get());
    else visit_leaf(t.impl_ptr());
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (const Edge& e : n->inputs) {
        if (e.fn) g.consumed_as.emplace(e.fn.get(), &e);
        visit(e.fn.get());
        visit_leaf(e.leaf);
      }
    }
  }
  return g;
}

class Writer {
 public:
  Writer(const std::vector<std::pair<std::string, Tensor>>& roots,
         const std::vector<std::pair<std::string, Tensor>>& named, const DotOptions& opt)
      : opt_(opt), g_(walk(roots)) {
    for (const auto& [name, t] : named)
      if (t.defined()) names_[t.impl_ptr().get()] = name;
    for (const auto& [name, t] : roots)
      if (t.defined()) names_[t.impl_ptr().get()] = name;
    for (size_t k = 0; k < g_.ops.size(); ++k) {
      const std::string& s = g_.ops[k]->scope;
      if (opt_.depth >= 0 && depth_of(s) >= opt_.depth) {
        const std::string p = prefix_of(s, opt_.depth);
        if (!group_id_.count(p)) group_id_[p] = groups_.size(), groups_.push_back({p, 0});
        rep_[k] = "g" + std::to_string(group_id_[p]);
        group_of_[k] = p;
        ++groups_[group_id_[p]].second;
      }
    }
    // A leaf whose consumers are all merged into groups disappears with them when it belongs to them:
    // unnamed, or named under the group's module path (its parameters). The input stays.
    std::vector<int> seen(g_.leaves.size(), 0);  // 1: only merged consumers, all owning it; 2: keep
    for (size_t k = 0; k < g_.ops.size(); ++k)
      for (const Edge& e : g_.ops[k]->inputs)
        if (e.leaf) {
          int& v = seen[g_.leaf_id.at(e.leaf.get())];
          v = merged(k) && owns(group_of_.at(k), e.leaf.get()) ? std::max(v, 1) : 2;
        }
    for (size_t j = 0; j < seen.size(); ++j)
      if (seen[j] == 1) hidden_.insert(j);
    for (const auto& [name, t] : roots)
      if (t.defined() && t.grad_fn()) root_ops_.push_back({name, g_.op_id.at(t.grad_fn().get())});
  }

  std::string write() {
    out_ =
        "digraph tape {\n  rankdir=BT;\n  fontname=\"DejaVu Sans\";\n  node [fontname=\"DejaVu Sans\", fontsize=10];\n"
        "  edge [fontname=\"DejaVu Sans\", fontsize=9];\n";
    if (!opt_.title.empty()) out_ += "  label=\"" + escape(opt_.title) + "\";\n  labelloc=t;\n";
    write_ops();
    for (size_t i = 0; i < groups_.size(); ++i)
      out_ += "  g" + std::to_string(i) + " [shape=box3d, style=filled, fillcolor=\"#dde8f7\", label=\"" +
              escape((groups_[i].first.empty() ? "(model)" : groups_[i].first) + "\n" +
                     std::to_string(groups_[i].second) + (groups_[i].second == 1 ? " op" : " ops")) +
              "\"];\n";
    write_leaves();
    write_edges();
    // A root made inside a merged group still gets its own tensor node.
    for (const auto& [name, k] : root_ops_)
      if (merged(k)) {
        std::shared_ptr<TensorImpl> impl = g_.ops[k]->output.lock();
        if (!impl) continue;
        const Tensor t(impl);
        const std::string id = "r" + std::to_string(k);
        out_ += tensor_node(id, &t, t.shape(), t.dtype(), name, "#ffffff");
        out_ += "  " + rep_.at(k) + " -> " + id + ";\n";
      }
    out_ += "}\n";
    return out_;
  }

 private:
  bool merged(size_t k) const { return rep_.count(k) > 0; }

  // Does group `prefix` own this leaf (unnamed, or a parameter under its module path)?
  bool owns(const std::string& prefix, TensorImpl* leaf) const {
    auto nm = names_.find(leaf);
    if (nm == names_.end()) return true;
    return prefix.empty() || nm->second.rfind(prefix + ".", 0) == 0;
  }

  // The ellipse of a tensor: name, shape, dtype (+ values), tooltip with statistics.
  std::string tensor_node(const std::string& id, const Tensor* t, const Shape& shape, DType dtype,
                          const std::string& name, const char* color) const {
    std::string label = (name.empty() ? "" : name + "\n") + shape_label(shape) + " " + dtype_name(dtype);
    std::string tip = shape_label(shape) + " " + dtype_name(dtype);
    if (t && t->defined()) {
      const Tensor g = t->grad();
      if (opt_.values && t->numel() <= opt_.max_values) {
        label += "\ndata " + values(*t);
        if (g.defined()) label += "\ngrad " + values(g);
      }
      tip += "\nvalue: " + stats(*t);
      if (g.defined()) tip += "\ngrad: " + stats(g);
    }
    return "  " + id + " [shape=ellipse, style=filled, fillcolor=\"" + color + "\", label=\"" + escape(label) +
           "\", tooltip=\"" + escape(tip) + "\"];\n";
  }

  void write_ops() {
    std::map<std::string, std::vector<size_t>> by_scope;
    for (size_t k = 0; k < g_.ops.size(); ++k)
      if (!merged(k)) by_scope[g_.ops[k]->scope].push_back(k);
    int cluster = 0;
    for (const auto& [scope, ks] : by_scope) {
      const bool boxed = !scope.empty();
      if (boxed)
        out_ += "  subgraph cluster_" + std::to_string(cluster++) + " {\n  label=\"" + escape(scope) +
                "\"; style=rounded; color=\"#8899bb\";\n";
      for (size_t k : ks) write_op(k);
      if (boxed) out_ += "  }\n";
    }
  }

  void write_op(size_t k) {
    Node* n = g_.ops[k];
    const std::string id = std::to_string(k);
    out_ += "  op" + id + " [shape=box, style=filled, fillcolor=\"#f3e3c3\", label=\"" + escape(n->name) + "\"];\n";
    std::shared_ptr<TensorImpl> impl = n->output.lock();
    if (impl) {
      const Tensor t(impl);
      auto nm = names_.find(impl.get());
      out_ += tensor_node("t" + id, &t, t.shape(), t.dtype(), nm == names_.end() ? "" : nm->second, "#ffffff");
    } else {
      out_ += "  t" + id + " [shape=ellipse, label=\"" + escape(out_shape_label(k)) + "\"];\n";
    }
    out_ += "  op" + id + " -> t" + id + ";\n";
  }

  // The shape of op k's output as its consumers saw it (the output itself is gone).
  std::string out_shape_label(size_t k) const {
    auto it = g_.consumed_as.find(g_.ops[k]);
    return it == g_.consumed_as.end() ? "(freed)"
                                      : shape_label(it->second->shape) + " " + dtype_name(it->second->dtype);
  }

  void write_leaves() {
    for (size_t j = 0; j < g_.leaves.size(); ++j) {
      if (hidden_.count(j)) continue;
      TensorImpl* l = g_.leaves[j].get();
      const Tensor t(g_.leaves[j]);
      auto nm = names_.find(l);
      out_ += tensor_node("l" + std::to_string(j), &t, l->shape, l->dtype, nm == names_.end() ? "" : nm->second,
                          "#d8f0d8");
    }
  }

  void write_edges() {
    std::set<std::string> done;
    for (size_t k = 0; k < g_.ops.size(); ++k) {
      const std::string dst = merged(k) ? rep_.at(k) : "op" + std::to_string(k);
      for (const Edge& e : g_.ops[k]->inputs) {
        std::string src, label;
        if (e.fn) {
          const size_t i = g_.op_id.at(e.fn.get());
          src = merged(i) ? rep_.at(i) : "t" + std::to_string(i);
          if (merged(i)) label = shape_label(e.shape);
        } else if (e.leaf) {
          const size_t j = g_.leaf_id.at(e.leaf.get());
          if (hidden_.count(j)) continue;
          src = "l" + std::to_string(j);
        } else {
          continue;  // an input that needs no gradient: not on the tape
        }
        if (src == dst) continue;  // inside one merged group
        const std::string line = "  " + src + " -> " + dst +
                                 (label.empty() ? "" : " [label=\"" + escape(label) + "\"]") + ";\n";
        if (done.insert(line).second) out_ += line;
      }
    }
  }

  const DotOptions& opt_;
  Graph g_;
  std::unordered_map<TensorImpl*, std::string> names_;
  std::map<size_t, std::string> rep_;                     // merged op -> its group node
  std::set<size_t> hidden_;                               // leaves not drawn
  std::map<size_t, std::string> group_of_;                // merged op -> its group's path prefix
  std::vector<std::pair<std::string, size_t>> root_ops_;  // (root name, its op)
  std::map<std::string, size_t> group_id_;
  std::vector<std::pair<std::string, int64_t>> groups_;  // (path prefix, op count)
  std::string out_;
};

}  // namespace

std::string graph_dot(const std::vector<std::pair<std::string, Tensor>>& roots,
                      const std::vector<std::pair<std::string, Tensor>>& named, const DotOptions& opt) {
  return Writer(roots, named, opt).write();
}

}  // namespace dg
