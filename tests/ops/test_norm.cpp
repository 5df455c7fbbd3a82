// batch_norm, group_norm, layer_norm: hand-computed statistics and running-stat updates, fused vs
// composed-from-primitives, f64 gradchecks (input, weight, bias; training and eval), errors,
// thread-count determinism. PyTorch goldens: tests/golden/manifest_nn.json.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "tests/support.h"

using namespace dg;

namespace {
// (x - mean) / sqrt(var + eps) over dims, from primitives (biased variance)
Tensor normalise_composed(const Tensor& x, const Dims& dims, double eps) {
  Tensor m = mean(x, dims, true);
  Tensor v = var(x, dims, 0.0, true);
  return div(sub(x, m), sqrt(add(v, eps)));
}
}  // namespace

TEST_CASE("norm: batch_norm training by hand, with the running-stat update") {
  // one channel, values 1,2,3,4: mean 2.5, biased var 1.25 (normalises), unbiased 5/3 (running stat)
  Tensor x = tensor({1, 2, 3, 4}, {4, 1}, DType::f64);
  Tensor rm = zeros({1}, DType::f64), rv = ones({1}, DType::f64);
  Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1, 0.0);
  const double s = std::sqrt(1.25);
  check_close(y, tensor({-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s}, {4, 1}, DType::f64));
  CHECK(rm.item() == doctest::Approx(0.25));                 // 0.9 * 0 + 0.1 * 2.5
  CHECK(rv.item() == doctest::Approx(0.9 + 0.1 * 5.0 / 3));  // 0.9 * 1 + 0.1 * 5/3
  // eval uses the running statistics: (x - 0.25) / sqrt(rv + eps) * 2 + 1
  Tensor ye = batch_norm(x, rm, rv, full({1}, 2.0, DType::f64), ones({1}, DType::f64), false, 0.1, 1e-5);
  const double d = std::sqrt(rv.item() + 1e-5);
  check_close(ye,
              tensor({(1 - 0.25) / d * 2 + 1, (2 - 0.25) / d * 2 + 1, (3 - 0.25) / d * 2 + 1, (4 - 0.25) / d * 2 + 1},
                     {4, 1}, DType::f64));
  CHECK(rm.item() == doctest::Approx(0.25));  // eval leaves the buffers alone
}

TEST_CASE("norm: fused ops agree with the same math composed from primitives") {
  Tensor x = normal64({3, 4, 2, 5}, 51, 1.5, 2.0, false);
  Tensor w = normal64({4}, 52, 1, 0.3, false), b = normal64({4}, 53, 0, 1, false);
  Tensor wb = reshape(w, {1, 4, 1, 1}), bb = reshape(b, {1, 4, 1, 1});
  // batch_norm: statistics over N, H, W
  check_close(batch_norm(x, Tensor(), Tensor(), w, b, true, 0.1, 1e-5),
              add(mul(normalise_composed(x, {0, 2, 3}, 1e-5), wb), bb));
  // group_norm with 2 groups: statistics over (C/2, H, W) of each sample
  Tensor xg = reshape(x, {3, 2, 2, 2, 5});
  check_close(group_norm(x, 2, w, b, 1e-5),
              add(mul(reshape(normalise_composed(xg, {2, 3, 4}, 1e-5), {3, 4, 2, 5}), wb), bb));
  // group_norm with 1 group is layer_norm over [C,H,W] (without affine)
  check_close(group_norm(x, 1), layer_norm(x, {4, 2, 5}));
  // layer_norm over the last two dims
  Tensor lw = normal64({2, 5}, 54, 1, 0.3, false), lb = normal64({2, 5}, 55, 0, 1, false);
  check_close(layer_norm(x, {2, 5}, lw, lb, 1e-3), add(mul(normalise_composed(x, {2, 3}, 1e-3), lw), lb));
}

GRADCHECK_TEST_CASE("norm: gradchecks in f64 (input, weight, bias)", "batch_norm", "group_norm", "layer_norm") {
  auto affine = [](int64_t c, uint64_t seed) {
    return std::pair{normal64({c}, seed, 1, 0.3), normal64({c}, seed + 1)};
  };
  for (bool training : {true, false})
    for (Shape s : std::vector<Shape>{{6, 3}, {4, 3, 5}, {2, 3, 4, 5}}) {
      CAPTURE(training);
      CAPTURE(shape_str(s));
      auto [w, b] = affine(3, 61);
      Generator gen(64);
      Tensor rm = normal64({3}, 63, 0, 0.1, false), rv = uniform({3}, 0.5, 2.0, gen, DType::f64);
      auto bn = [&](const std::vector<Tensor>& v) {
        return batch_norm(v[0], v[1], v[2], v[3], v[4], training, 0.1, 1e-5);
      };
      check_grad("batch_norm", bn, {normal64(s, 65), rm, rv, w, b});
      auto bn_plain = [&](const std::vector<Tensor>& v) {
        return batch_norm(v[0], v[1], v[2], Tensor(), Tensor(), training, 0.1, 1e-3);
      };
      check_grad("batch_norm", bn_plain, {normal64(s, 66), rm, rv});
    }
  for (int64_t g : {1, 2, 3, 6}) {
    CAPTURE(g);
    auto [w, b] = affine(6, 71);
    check_grad("group_norm", [&](const std::vector<Tensor>& v) { return group_norm(v[0], g, v[1], v[2], 1e-5); },
               {normal64({2, 6, 2, 3}, 73), w, b});
  }
  check_grad("group_norm", [&](const std::vector<Tensor>& v) { return group_norm(v[0], 2); },
             {normal64({3, 4, 5}, 74)});
  check_grad("layer_norm", [&](const std::vector<Tensor>& v) { return layer_norm(v[0], {5}, v[1], v[2], 1e-5); },
             {normal64({3, 4, 5}, 81), normal64({5}, 82, 1, 0.3), normal64({5}, 83)});
  check_grad("layer_norm",
             [&](const std::vector<Tensor>& v) {
               return layer_norm(v[0], {3, 4, 5}, v[1], v[2], 1e-5);
             },
             {normal64({2, 3, 4, 5}, 84), normal64({3, 4, 5}, 85, 1, 0.3), normal64({3, 4, 5}, 86)});
  check_grad("layer_norm", [&](const std::vector<Tensor>& v) { return layer_norm(v[0], {6}, Tensor(), v[1], 1e-3); },
             {normal64({4, 6}, 87, 2, 3), normal64({6}, 88)});
}

TEST_CASE("norm: error messages") {
  Tensor x = zeros({2, 3});
  CHECK(error_of([&] { batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false); }) ==
        "batch_norm: running_mean and running_var are required in evaluation mode (training=false)");
  CHECK(error_of([&] {
          batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true);
        }) == "batch_norm: expected more than 1 value per channel when training, got input [1,3]");
  CHECK(error_of([&] { batch_norm(x, Tensor(), Tensor(), zeros({4}), Tensor(), true); }) ==
        "batch_norm: weight has shape [4], expected [3] for input [2,3]");
  CHECK(error_of([&] { batch_norm(x, zeros({3}, DType::f64), ones({3}), Tensor(), Tensor(), false); }) ==
        "batch_norm: running_mean is f64 but input is f32");
  CHECK(error_of([&] {
          group_norm(zeros({2, 6, 3}), 4);
        }) == "group_norm: num_groups 4 must divide the 6 channels of input [2,6,3]");
  CHECK(error_of([&] {
          group_norm(zeros({1, 3}), 3);
        }) ==
        "group_norm: expected more than 1 value per channel when training, got input [1,3] with num_groups 3 "
        "(PyTorch's check: N * C / num_groups * spatial > 1)");
  CHECK(error_of([&] {
          layer_norm(zeros({2, 3, 5}), {4});
        }) == "layer_norm: normalized_shape [4] must equal the last dims of input [2,3,5]");
  CHECK(error_of([&] {
          layer_norm(zeros({2, 3, 5}), {5}, zeros({3}));
        }) == "layer_norm: weight has shape [3], expected [5] for input [2,3,5]");
}

TEST_CASE("norm: same bits for 1, 2 and 3 threads") {
  Tensor x = normal64({4, 16, 24, 24}, 91, 0.5, 2, false);
  Tensor w = normal64({16}, 92, 1, 0.2, false), b = normal64({16}, 93, 0, 1, false);
  same_bits_for_threads([&] {
    std::vector<std::pair<std::string, Tensor>> r;
    for (const char* which : {"batch_norm", "group_norm", "layer_norm"}) {
      Tensor xi = x.contiguous_copy_no_grad().set_requires_grad();
      Tensor wi = w.contiguous_copy_no_grad().set_requires_grad(), bi = b.contiguous_copy_no_grad().set_requires_grad();
      const std::string n = which;
      Tensor y = n == "batch_norm"   ? batch_norm(xi, Tensor(), Tensor(), wi, bi, true)
                 : n == "group_norm" ? group_norm(xi, 4, wi, bi)
                                     : layer_norm(xi, {24});
      y.backward(normal64(y.shape(), 94, 0, 1, false));
      r.insert(r.end(), {{n + " out", y}, {n + " grad input", xi.grad()}});
      if (n != "layer_norm") r.insert(r.end(), {{n + " grad weight", wi.grad()}, {n + " grad bias", bi.grad()}});
    }
    return r;
  });
}
