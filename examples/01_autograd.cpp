// Tutorial 01: reverse-mode autograd, step by step.
//
// Build and run:   cmake --build build --target example_01_autograd && ./build/example_01_autograd
//
// Each stage prints what the engine did. Read this file top to bottom next to docs/autograd.md.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "autograd/graph_dot.h"
#include "autograd/ops.h"
#include "autograd/ops/gradcheck.h"

using namespace dg;

static void stage(const char* title) { std::printf("\n== %s ==\n", title); }

// The tape as a picture: runs/example_01/NAME.dot always, NAME.svg when Graphviz's `dot` is installed.
static void draw(const std::string& name, const std::vector<std::pair<std::string, Tensor>>& named, const char* title) {
  std::filesystem::create_directories("runs/example_01");
  const std::string file = "runs/example_01/" + name;
  DotOptions o;
  o.values = true;
  o.title = title;
  std::ofstream(file + ".dot") << graph_dot({named.back()}, named, o);
  const bool svg = std::system(("dot -Tsvg " + file + ".dot -o " + file + ".svg 2>/dev/null").c_str()) == 0;
  std::printf("drew the tape: %s.dot%s\n", file.c_str(),
              svg ? (" and " + file + ".svg").c_str() : " (install graphviz for the .svg)");
}

int main() {
  // 1. Tensors are a shape, a dtype and contiguous storage. f64 keeps the numbers exact enough to
  //    check by hand.
  stage("1. leaves: tensors we want gradients for");
  Tensor x = scalar_tensor(2.0, DType::f64).set_requires_grad();
  Tensor y = scalar_tensor(3.0, DType::f64).set_requires_grad();
  std::printf("x = %s\ny = %s\n", x.str().c_str(), y.str().c_str());

  // 2. Every op that sees an input with requires_grad records a Node: its inputs in order and a
  //    closure that maps the output's gradient to the inputs' gradients.
  stage("2. forward: each op records a node on the tape");
  Tensor u = mul(x, y);    // u = x*y = 6
  Tensor v = add(u, x);    // v = u + x = 8   (x is used twice: its gradients will add up)
  Tensor L = pow(v, 2.0);  // L = v^2 = 64
  std::printf("u = x*y   -> %s\nv = u + x -> %s\nL = v^2   -> %s\n", u.str().c_str(), v.str().c_str(), L.str().c_str());
  std::printf("L's node is '%s'; its input is produced by '%s', whose inputs come from '%s' and the leaf x\n",
              L.grad_fn()->name.c_str(), L.grad_fn()->inputs[0].fn->name.c_str(),
              v.grad_fn()->inputs[0].fn->name.c_str());

  // The tape so far, drawn (docs/autograd.md shows it): leaves in green, ops in boxes, values inside.
  draw("tape_forward", {{"x", x}, {"y", y}, {"u", u}, {"v", v}, {"L", L}}, "after forward: values");

  // 3. backward() walks the nodes in reverse topological order: pow, then add, then mul.
  //    dL/dv = 2v = 16; add passes 16 to u and to x; mul sends 16*y = 48 to x and 16*x = 32 to y.
  //    x collects 16 + 48 = 64.
  stage("3. backward: gradients flow from L to the leaves");
  {
    RetainGradsGuard keep;  // also keep u's and v's gradients, for the picture
    L.backward();
  }
  std::printf("dL/dx = %g   (by hand: 2v * (y + 1) = 16 * 4 = 64)\n", x.grad().item());
  std::printf("dL/dy = %g   (by hand: 2v * x = 16 * 2 = 32)\n", y.grad().item());
  draw("tape_backward", {{"x", x}, {"y", y}, {"u", u}, {"v", v}, {"L", L}}, "after backward: values and gradients");

  // 4. The graph is freed after backward (the closures and what they saved are released), so
  //    calling it again is an error with a clear message, unless retain_graph was asked for.
  stage("4. the tape is freed after backward");
  try {
    L.backward();
  } catch (const Error& e) {
    std::printf("second backward: %s\n", e.what());
  }

  // 5. Broadcasting: adding a [3] bias to a [2,3] matrix. The bias's gradient is the upstream
  //    gradient summed over the broadcast dimension (sum_to, the adjoint of broadcasting).
  stage("5. broadcasting and its adjoint");
  Tensor m = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f64).set_requires_grad();
  Tensor b = tensor({10, 20, 30}, {3}, DType::f64).set_requires_grad();
  Tensor s = sum(mul(add(m, b), tensor({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f64)));
  s.backward();
  std::printf("m.grad = %s\nb.grad = %s   (column sums of the upstream [[1,2,3],[4,5,6]])\n", m.grad().str().c_str(),
              b.grad().str().c_str());

  // 6. NoGradGuard: inside it nothing is recorded (inference, optimiser updates).
  stage("6. NoGradGuard records nothing");
  {
    NoGradGuard ng;
    Tensor z = mul(m, 2.0);
    std::printf("inside NoGradGuard: z.requires_grad = %s\n", z.requires_grad() ? "true" : "false");
  }

  // 7. gradcheck: compare the tape against central differences for a small function.
  stage("7. gradcheck against finite differences");
  Generator gen(0);
  Tensor a = randn({3, 4}, gen, DType::f64).set_requires_grad();
  Tensor w = randn({4, 2}, gen, DType::f64).set_requires_grad();
  GradcheckResult r = gradcheck(std::function<Tensor(const std::vector<Tensor>&)>([](const std::vector<Tensor>& in) {
                                  return log_softmax(tanh(matmul(in[0], in[1])), 1);
                                }),
                                {a, w});
  std::printf("log_softmax(tanh(a @ w)): %s (max |analytic - numeric| = %.2e)\n", r.ok ? "gradients agree" : "MISMATCH",
              r.max_abs_err);
  return r.ok ? 0 : 1;
}
