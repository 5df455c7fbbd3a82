// The tape drawn (autograd/graph_dot.h): the micrograd picture of a small expression (values and
// gradients, ops in argument order, a tensor used twice), intermediate gradients only under
// RetainGradsGuard, scopes as clusters and merged boxes, and determinism.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <string>

#include "autograd/graph.h"
#include "autograd/graph_dot.h"
#include "autograd/ops.h"

using namespace dg;

TEST_CASE("graph_dot: the micrograd picture of L = (x*y + x)^2") {
  Tensor x = scalar_tensor(2.0, DType::f64).set_requires_grad();
  Tensor y = scalar_tensor(3.0, DType::f64).set_requires_grad();
  Tensor u = mul(x, y), v = add(u, x), L = pow(v, 2.0);
  DotOptions o;
  o.values = true;
  const std::vector<std::pair<std::string, Tensor>> named = {{"x", x}, {"y", y}, {"u", u}, {"v", v}};
  const std::string before = graph_dot({{"L", L}}, named, o);
  CHECK(before.rfind("digraph tape {", 0) == 0);
  CHECK(count_of(before, "shape=box,") == 3);  // pow, add, mul
  CHECK(before.find("label=\"pow\"") != std::string::npos);
  CHECK(before.find("L\\n[] f64\\ndata 64") != std::string::npos);
  CHECK(before.find("\\ngrad ") == std::string::npos);  // no gradients yet
  // Edges: mul -> u, u -> add, x -> add (x used twice), x -> mul, y -> mul, add -> v, v -> pow, pow -> L.
  CHECK(count_of(before, " -> ") == 8);
  {
    RetainGradsGuard keep;
    L.backward();
  }
  const std::string after = graph_dot({{"L", L}}, named, o);
  CHECK(after.find("x\\n[] f64\\ndata 2\\ngrad 64") != std::string::npos);
  CHECK(after.find("y\\n[] f64\\ndata 3\\ngrad 32") != std::string::npos);
  CHECK(after.find("u\\n[] f64\\ndata 6\\ngrad 16") != std::string::npos);               // kept by RetainGradsGuard
  CHECK(after.find("value: min 2  max 2  mean 2\\ngrad: min 64") != std::string::npos);  // the tooltip
  CHECK(after == graph_dot({{"L", L}}, named, o));                                       // deterministic
}

TEST_CASE("graph_dot: without RetainGradsGuard only leaves keep gradients; big tensors show no values") {
  Tensor a = full({3, 4}, 0.5, DType::f64).set_requires_grad();
  Tensor h = tanh(a);
  Tensor s = sum(h);
  s.backward();
  CHECK_FALSE(h.grad().defined());
  DotOptions o;
  o.values = true;
  const std::string d = graph_dot({{"s", s}}, {{"a", a}, {"h", h}}, o);
  CHECK(d.find("data 0.5") == std::string::npos);  // 12 elements > max_values
  CHECK(d.find("a\\n[3,4] f64") != std::string::npos);
  CHECK(d.find("grad: min") != std::string::npos);  // a's gradient in its tooltip
}

TEST_CASE("graph_dot: scopes become clusters; a depth merges them into boxes") {
  Tensor w = full({2}, 1.5).set_requires_grad();
  Tensor z;
  set_scope_recording(true);
  {
    ScopeGuard outer("block");
    Tensor p;
    {
      ScopeGuard inner("block.inner");
      p = mul(w, w);
    }
    z = add(p, w);
  }
  Tensor out = relu(z);  // outside every scope
  set_scope_recording(false);
  CHECK(z.grad_fn()->scope == "block");
  CHECK(out.grad_fn()->scope.empty());
  const std::vector<std::pair<std::string, Tensor>> named = {{"block.w", w}};
  const std::string all = graph_dot({{"out", out}}, named);
  CHECK(count_of(all, "subgraph cluster_") == 2);  // block, block.inner
  DotOptions d1;
  d1.depth = 1;
  const std::string merged = graph_dot({{"out", out}}, named, d1);
  CHECK(merged.find("label=\"block\\n2 ops\"") != std::string::npos);
  CHECK(merged.find("block.w") == std::string::npos);  // its parameter is inside the box
  CHECK(merged.find("label=\"relu\"") != std::string::npos);
  CHECK(merged.find("g0 -> op0 [label=\"[2]\"]") != std::string::npos);
  DotOptions d0;
  d0.depth = 0;
  CHECK(graph_dot({{"out", out}}, named, d0).find("label=\"(model)\\n3 ops\"") != std::string::npos);
}
