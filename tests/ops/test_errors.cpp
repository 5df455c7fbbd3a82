// Bad input gets a dg::Error naming the op and the shapes: the messages are part of the interface.
#include <doctest/doctest.h>

#include "tests/support.h"

#include "autograd/ops.h"
#include "autograd/ops/registry.h"

using namespace dg;

TEST_CASE("errors: messages name the op and the shapes") {
  Tensor a = zeros({2, 3}), b = zeros({4, 5}), d = zeros({2, 3}, DType::f64);
  CHECK(error_of([&] { matmul(a, b); }) == "matmul: inner dimensions differ: [2,3] @ [4,5]");
  CHECK(error_of([&] { add(a, b); }) == "add: shapes [2,3] and [4,5] cannot be broadcast (dimension 0: 2 vs 4)");
  CHECK(error_of([&] { mul(a, d); }) == "mul: dtype mismatch: f32 and f64");
  CHECK(error_of([&] { atan_ratio(a, b); }) == "atan_ratio: w and h must have one shape, got [2,3] and [4,5]");
  CHECK(error_of([&] { atan_ratio(a, d); }) == "atan_ratio: dtype mismatch: f32 and f64");
  CHECK(error_of([&] { sum(a, {2}); }) == "sum: dim 2 out of range for shape [2,3]");
  CHECK(error_of([&] {
          reshape(a, {4, -1});
        }) == "reshape: shape [4,-1] is invalid for input of shape [2,3] (6 elements)");
  CHECK(error_of([&] {
          cat({a, b}, 0);
        }) == "cat: sizes must match except in dimension 0: tensor 1 has shape [4,5], tensor 0 has [2,3]");
  CHECK(error_of([&] { permute(a, {0, 0}); }) == "permute: dim 0 repeated in [0,0]");
  CHECK(error_of([&] { narrow(a, 1, 2, 2); }) ==
        "narrow: start 2 + length 2 exceeds dimension 1 of size 3 (shape [2,3])");
  CHECK(error_of([&] { index_select(a, 0, tensor({5}, {1}, DType::i64)); }) ==
        "index_select: index 5 is out of bounds for dimension of size 2");
  CHECK(error_of([&] {
          cross_entropy(a, tensor({0, 3}, {2}, DType::i64));
        }) == "nll_loss: target 3 is out of bounds for 3 classes");
  CHECK(error_of([&] { amax(zeros({0, 3}), {0}); }) == "amax: cannot reduce over an empty dimension (shape [0,3])");
  CHECK(error_of([&] { exp(tensor({1}, {1}, DType::i64)); }) == "exp: expected a floating-point tensor, got i64");
  CHECK(error_of([&] { pad(a, {1}); }) == "pad: pad length must be even, got 1 values [1]");
  CHECK(error_of([&] {
          expand(a, {3, 3});
        }) == "expand: the expanded size 3 must match the existing size 2 at dimension 0 ([2,3] -> [3,3])");
}

TEST_CASE("errors: the ref registry rejects unknown ops, inputs and attributes") {
  Tensor x = zeros({2, 3}, DType::f64);
  CHECK(error_of([&] { run_ref("nope", {{"input", x}}, {}); }).rfind("unknown op 'nope'; known ops: add, sub", 0) == 0);
  CHECK(error_of([&] { run_ref("add", {{"input", x}}, {}); }) == "missing input or attribute 'other'");
  CHECK(error_of([&] { run_ref("exp", {{"input", x}, {"other", x}}, {}); }) == "exp: unknown input 'other'");
  CHECK(error_of([&] { run_ref("sum", {{"input", x}}, {{"dimm", "0"}}); }) == "sum: unknown attribute 'dimm'");
  CHECK(error_of([&] {
          run_ref("sum", {{"input", x}}, {{"dim", "x"}});
        }) == "sum: attribute dim='x' is not an integer");
  CHECK(error_of([&] { run_ref("softmax", {{"input", x}}, {}); }) == "softmax: missing attribute 'dim'");
  CHECK(error_of([&] {
          run_ref("mse_loss", {{"input", x}, {"target", x}}, {{"reduction", "avg"}});
        }) == "reduction must be none, mean, sum or batchmean, got 'avg'");
}
