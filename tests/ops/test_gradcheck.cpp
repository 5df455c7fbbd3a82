// Tier 1: every differentiable op of the registry gradchecked in f64 (central differences, random
// non-uniform upstream gradient, zero-gradient guard), including broadcasting, size-1 and empty
// shapes. Each case is one row: op, inputs (name, shape, how to fill), attributes.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "autograd/generator.h"
#include "autograd/ops.h"
#include "autograd/ops/gradcheck.h"
#include "autograd/ops/registry.h"
#include "detectors/ref/ref_ops.h"
#include "tests/support.h"

using namespace dg;

namespace {
// How an input is filled: any real, positive, away from kinks, class index, mask, probabilities.
enum class Fill { any, pos, away, index, mask, prob, logprob };

struct In {
  std::string name;
  Shape shape;
  Fill fill = Fill::any;
  int64_t bound = 0;  // index: values in [0, bound)
};

struct Case {
  std::string op;
  std::vector<In> inputs;
  std::map<std::string, std::string> attrs;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  os << c.op << "(";
  for (auto& i : c.inputs) os << i.name << shape_str(i.shape) << " ";
  for (auto& [k, v] : c.attrs) os << k << "=" << v << " ";
  return os << ")";
}

Tensor make(const In& in, Generator& gen) {
  const int64_t n = shape_numel(in.shape);
  std::vector<double> v((size_t)n);
  for (int64_t i = 0; i < n; ++i) {
    switch (in.fill) {
      case Fill::any: v[(size_t)i] = gen.normal01(); break;
      case Fill::pos: v[(size_t)i] = 0.5 + 1.5 * gen.uniform01(); break;
      case Fill::away: {  // distinct values at least 0.1 from 0 and from each other's kinks
        double m = 0.2 + 0.05 * (double)i + 0.01 * gen.uniform01();
        v[(size_t)i] = gen.uniform01() < 0.5 ? -m : m;
        break;
      }
      case Fill::index: v[(size_t)i] = (double)gen.randint(0, in.bound); break;
      case Fill::mask: v[(size_t)i] = gen.uniform01() < 0.5 ? 1 : 0; break;
      case Fill::prob:
      case Fill::logprob: v[(size_t)i] = 0.1 + gen.uniform01(); break;
    }
  }
  DType dt = in.fill == Fill::index ? DType::i64 : in.fill == Fill::mask ? DType::b8 : DType::f64;
  Tensor t = from_vector(v, in.shape, dt);
  if (in.fill == Fill::prob || in.fill == Fill::logprob) {  // normalise over the last dim
    const int64_t last = in.shape.empty() ? 1 : in.shape.back();
    double* p = t.data<double>();
    for (int64_t r = 0; r < n / last; ++r) {
      double s = 0;
      for (int64_t j = 0; j < last; ++j) s += p[r * last + j];
      for (int64_t j = 0; j < last; ++j) {
        p[r * last + j] /= s;
        if (in.fill == Fill::logprob) p[r * last + j] = std::log(p[r * last + j]);
      }
    }
  }
  return t;
}

std::vector<Case> cases() {
  const Fill A = Fill::any, P = Fill::pos, W = Fill::away;
  std::vector<Case> c;
  for (const char* op : {"add", "sub", "mul", "div"}) {
    Fill f = std::string(op) == "div" ? P : A;
    c.push_back({op, {{"input", {2, 3, 4}, A}, {"other", {3, 1}, f}}, {}});
    c.push_back({op, {{"input", {1}, A}, {"other", {2, 3}, f}}, {}});
    c.push_back({op, {{"input", {}, A}, {"other", {4}, f}}, {}});
    c.push_back({op, {{"input", {0, 3}, A}, {"other", {3}, f}}, {}});
  }
  c.push_back({"add", {{"input", {2, 3}, A}, {"other", {3}, A}}, {{"alpha", "-2.5"}}});
  c.push_back({"minimum", {{"input", {3, 4}, W}, {"other", {4}, W}}, {}});
  c.push_back({"maximum", {{"input", {2, 1, 3}, W}, {"other", {4, 1}, W}}, {}});
  for (const char* op : {"neg", "exp", "tanh", "sigmoid", "silu", "atan"})
    c.push_back({op, {{"input", {2, 3}, A}}, {}});
  c.push_back({"atan_ratio", {{"input", {2, 3}, A}, {"other", {2, 3}, P}}, {}});
  for (const char* op : {"log", "sqrt"}) c.push_back({op, {{"input", {2, 3}, P}}, {}});
  for (const char* op : {"abs", "relu"}) c.push_back({op, {{"input", {3, 4}, W}}, {}});
  c.push_back({"leaky_relu", {{"input", {3, 4}, W}}, {{"negative_slope", "0.2"}}});
  c.push_back({"softplus", {{"input", {2, 5}, A}}, {{"beta", "2"}, {"threshold", "1"}}});
  c.push_back({"pow", {{"input", {2, 3}, P}, {"exponent", {3}, A}}, {}});
  c.push_back({"pow", {{"input", {2, 3}, P}}, {{"exponent", "-1.5"}}});
  c.push_back({"pow", {{"input", {2, 3}, A}}, {{"exponent", "3"}}});
  c.push_back({"clamp", {{"input", {4, 4}, W}}, {{"min", "-0.5"}, {"max", "0.6"}}});
  c.push_back({"clamp", {{"input", {4, 4}, W}}, {{"min", "0.1"}}});
  c.push_back({"where", {{"condition", {3, 1}, Fill::mask}, {"input", {3, 4}, A}, {"other", {4}, A}}, {}});
  for (const char* op : {"sum", "mean"}) {
    c.push_back({op, {{"input", {2, 3, 4}, A}}, {}});
    c.push_back({op, {{"input", {2, 3, 4}, A}}, {{"dim", "0,2"}, {"keepdim", "true"}}});
    c.push_back({op, {{"input", {2, 3, 4}, A}}, {{"dim", "-1"}}});
    c.push_back({op, {{"input", {2, 1, 4}, A}}, {{"dim", "1"}}});
  }
  c.push_back({"var", {{"input", {3, 5}, A}}, {{"dim", "1"}}});
  c.push_back({"var", {{"input", {2, 3, 4}, A}}, {{"dim", "0,2"}, {"correction", "0"}, {"keepdim", "true"}}});
  c.push_back({"max", {{"input", {3, 4}, W}}, {{"dim", "1"}}});
  c.push_back({"min", {{"input", {3, 4}, W}}, {{"dim", "0"}, {"keepdim", "true"}}});
  c.push_back({"max", {{"input", {3, 4}, W}}, {}});
  c.push_back({"amin", {{"input", {2, 3, 4}, W}}, {{"dim", "0,2"}}});
  c.push_back({"amax", {{"input", {2, 3, 4}, W}}, {{"dim", "1"}, {"keepdim", "true"}}});
  c.push_back({"amax", {{"input", {3, 4}, W}}, {}});
  c.push_back({"matmul", {{"input", {3, 4}, A}, {"other", {4, 2}, A}}, {}});
  c.push_back({"matmul", {{"input", {4}, A}, {"other", {4}, A}}, {}});
  c.push_back({"matmul", {{"input", {4}, A}, {"other", {2, 4, 3}, A}}, {}});
  c.push_back({"matmul", {{"input", {2, 1, 3, 4}, A}, {"other", {5, 4, 2}, A}}, {}});
  c.push_back({"matmul", {{"input", {2, 3, 4}, A}, {"other", {4}, A}}, {}});
  c.push_back({"linear", {{"input", {2, 3, 4}, A}, {"weight", {5, 4}, A}, {"bias", {5}, A}}, {}});
  c.push_back({"linear", {{"input", {3, 4}, A}, {"weight", {2, 4}, A}}, {}});
  c.push_back({"reshape", {{"input", {2, 3, 4}, A}}, {{"shape", "4,-1"}}});
  c.push_back({"view", {{"input", {2, 3, 4}, A}}, {{"shape", "6,4"}}});
  c.push_back({"permute", {{"input", {2, 3, 4}, A}}, {{"dims", "2,0,1"}}});
  c.push_back({"transpose", {{"input", {2, 3, 4}, A}}, {{"dim0", "0"}, {"dim1", "-1"}}});
  c.push_back({"expand", {{"input", {3, 1}, A}}, {{"size", "2,3,4"}}});
  c.push_back({"cat", {{"tensors", {2, 3}, A}, {"tensors", {2, 0}, A}, {"tensors", {2, 2}, A}}, {{"dim", "1"}}});
  c.push_back({"concat", {{"tensors", {3, 2}, A}, {"tensors", {1, 2}, A}}, {}});
  c.push_back({"stack", {{"tensors", {2, 3}, A}, {"tensors", {2, 3}, A}}, {{"dim", "-1"}}});
  c.push_back({"split", {{"tensor", {5, 2}, A}}, {{"split_size_or_sections", "2"}}});
  c.push_back({"split", {{"tensor", {2, 6}, A}}, {{"split_size_or_sections", "1,2,3"}, {"dim", "1"}}});
  c.push_back({"chunk", {{"input", {7, 2}, A}}, {{"chunks", "3"}}});
  c.push_back({"narrow", {{"input", {4, 5}, A}}, {{"dim", "1"}, {"start", "1"}, {"length", "3"}}});
  c.push_back({"slice", {{"input", {4, 7}, A}}, {{"dim", "1"}, {"start", "-6"}, {"step", "2"}}});
  c.push_back({"index_select", {{"input", {4, 3}, A}, {"index", {5}, Fill::index, 4}}, {{"dim", "0"}}});
  c.push_back({"gather", {{"input", {3, 4}, A}, {"index", {3, 6}, Fill::index, 4}}, {{"dim", "1"}}});
  c.push_back({"pad", {{"input", {2, 3, 4}, A}}, {{"pad", "1,2,0,1"}, {"value", "0.5"}}});
  c.push_back({"pad", {{"input", {2, 3, 4}, A}}, {{"pad", "-1,1,-1,0"}}});
  c.push_back({"softmax", {{"input", {2, 3, 4}, A}}, {{"dim", "1"}}});
  c.push_back({"log_softmax", {{"input", {3, 5}, A}}, {{"dim", "-1"}}});
  for (const char* red : {"none", "mean", "sum"}) {
    c.push_back({"mse_loss", {{"input", {3, 4}, A}, {"target", {3, 4}, A}}, {{"reduction", red}}});
    c.push_back({"l1_loss", {{"input", {3, 4}, W}, {"target", {3, 4}, Fill::pos}}, {{"reduction", red}}});
    c.push_back(
        {"smooth_l1_loss", {{"input", {3, 4}, A}, {"target", {3, 4}, A}}, {{"reduction", red}, {"beta", "0.7"}}});
    c.push_back({"binary_cross_entropy_with_logits",
                 {{"input", {3, 4}, A}, {"target", {3, 4}, Fill::prob}, {"weight", {4}, P}, {"pos_weight", {4}, P}},
                 {{"reduction", red}}});
    c.push_back({"cross_entropy",
                 {{"input", {5, 4}, A}, {"target", {5}, Fill::index, 4}},
                 {{"reduction", red}, {"label_smoothing", "0.1"}}});
    c.push_back({"nll_loss",
                 {{"input", {2, 4, 3}, Fill::logprob}, {"target", {2, 3}, Fill::index, 4}, {"weight", {4}, P}},
                 {{"reduction", red}}});
    c.push_back({"kl_div", {{"input", {3, 4}, Fill::logprob}, {"target", {3, 4}, Fill::prob}}, {{"reduction", red}}});
  }
  c.push_back({"cross_entropy",
               {{"input", {2, 3, 4}, A}, {"target", {2, 4}, Fill::index, 3}, {"weight", {3}, P}},
               {{"ignore_index", "1"}}});
  c.push_back({"cross_entropy", {{"input", {3, 4}, A}, {"target", {3, 4}, Fill::prob}}, {{"label_smoothing", "0.2"}}});
  c.push_back({"kl_div",
               {{"input", {3, 4}, Fill::logprob}, {"target", {3, 4}, Fill::logprob}},
               {{"reduction", "batchmean"}, {"log_target", "true"}}});
  return c;
}

std::vector<std::string> ops_of(const std::vector<Case>& cases) {
  std::vector<std::string> ops;
  for (const Case& c : cases) ops.push_back(c.op);
  return ops;
}
}  // namespace

// The table's ops are this case's claim for tests/ops/test_registry_coverage.cpp.
GRADCHECK_TEST_CASE("gradcheck: every differentiable op in f64", ops_of(cases())) {
  Generator gen(7);
  int n = 0;
  for (const Case& c : cases()) {
    CAPTURE(c);
    std::vector<std::pair<std::string, Tensor>> inputs;
    bool any_elements = false;
    for (const In& in : c.inputs) {
      inputs.push_back({in.name, make(in, gen)});
      any_elements = any_elements || (inputs.back().second.dtype() == DType::f64 && inputs.back().second.numel() > 0);
    }
    gradcheck_ref_op(c.op, inputs, c.attrs);
    n += any_elements;
  }
  CHECK(n > 80);
}

TEST_CASE("gradcheck: catches a wrong backward") {
  // A deliberately wrong gradient (2x too large) must be reported.
  auto bad = [](const std::vector<Tensor>& v) {
    Tensor x = v[0];
    Tensor out = mul(x.detach(), 3.0);
    return record("bad", out, {x}, [](const Tensor& g) { return std::vector<Tensor>{mul(g, 6.0)}; });
  };
  Generator gen(1);
  Tensor x = randn({3}, gen, DType::f64).set_requires_grad();
  GradcheckResult r = gradcheck(std::function<Tensor(const std::vector<Tensor>&)>(bad), {x});
  CHECK_FALSE(r.ok);
  // A backward that returns zeros is caught by the zero guard too.
  auto flat = [](const std::vector<Tensor>& v) {
    Tensor x = v[0];
    Tensor out = mul(x.detach(), 3.0);
    return record("flat", out, {x}, [](const Tensor& g) { return std::vector<Tensor>{zeros_like(g)}; });
  };
  GradcheckOptions loose;
  loose.atol = 1e3;  // tolerance so loose that only the zero guard can fail
  GradcheckResult r2 = gradcheck(std::function<Tensor(const std::vector<Tensor>&)>(flat), {x}, loose);
  CHECK_FALSE(r2.ok);
  CHECK(r2.message.find("identically zero") != std::string::npos);
}
