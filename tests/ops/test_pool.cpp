// Pooling: hand-computed cases (the arithmetic in comments), output sizes incl. ceil_mode's rule,
// f64 gradchecks of every variant, error messages, thread-count determinism. PyTorch goldens:
// tests/golden/manifest_nn.json (gen_golden_nn.py).
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/kernels/pool.h"
#include "autograd/ops.h"
#include "tests/support.h"

using namespace dg;

TEST_CASE("pool: output size formula and the ceil_mode rule") {
  using kernels::pool_output_size;
  // (6 - 3) / 2 + 1 = 2.5 -> floor 2, ceil 3
  CHECK(pool_output_size(6, 3, 0, 2, 1, false) == 2);
  CHECK(pool_output_size(6, 3, 0, 2, 1, true) == 3);
  // 5 + 2*1 padded, k 2, s 2: ceil gives 4 windows, but window 4 would start at 3*2 = 6 >= 5 + 1,
  // i.e. entirely in the right padding, so it is dropped: 3
  CHECK(pool_output_size(5, 2, 1, 2, 1, true) == 3);
  CHECK(pool_output_size(5, 2, 1, 2, 1, false) == 3);
  // dilation 2 makes a 3-tap kernel span 5: (9 + 2 - 5) / 1 + 1 = 7
  CHECK(pool_output_size(9, 3, 1, 1, 2, false) == 7);
  CHECK(pool_output_size(2, 3, 0, 3, 1, false) == 0);  // kernel larger than the input
}

TEST_CASE("pool: max_pool2d by hand") {
  // 4x4 ramp 0..15, k 2: maxima are the bottom-right cell of each 2x2 block
  Tensor x = arange(0, 16, 1, DType::f64).set_requires_grad();
  Tensor x4 = reshape(x, {1, 1, 4, 4});
  auto [y, idx] = max_pool2d_with_indices(x4, {2});
  CHECK(y.to_vector() == std::vector<double>{5, 7, 13, 15});
  CHECK(idx.to_vector() == std::vector<double>{5, 7, 13, 15});
  y.backward(tensor({1, 2, 3, 4}, {1, 1, 2, 2}, DType::f64));
  std::vector<double> want(16, 0.0);
  want[5] = 1;
  want[7] = 2;
  want[13] = 3;
  want[15] = 4;
  CHECK(x.grad().to_vector() == want);

  // Overlapping windows (k 3, s 1, p 1) on a constant plane: every window ties; the first maximum in
  // scan order wins, so the gradient lands on the window's top-left input cell and accumulates.
  Tensor c = ones({1, 1, 2, 2}, DType::f64).set_requires_grad();
  Tensor yc = max_pool2d(c, {3}, {1}, {1});
  yc.backward(ones({1, 1, 2, 2}, DType::f64));
  CHECK(c.grad().to_vector() == std::vector<double>{4, 0, 0, 0});

  // NaN propagates and takes the gradient
  Tensor n = tensor({1, NAN, 3, 2}, {1, 2, 2}, DType::f64).set_requires_grad();
  Tensor yn = max_pool2d(n, {2});
  CHECK(std::isnan(yn.item()));
  yn.backward(ones({1, 1, 1}, DType::f64));
  CHECK(n.grad().to_vector() == std::vector<double>{0, 1, 0, 0});
}

TEST_CASE("pool: avg_pool2d divisors by hand") {
  Tensor x = ones({1, 1, 3, 3}, DType::f64);
  // k 3, s 2, p 1 on a 3x3 plane of ones: window (0,0) covers padded rows/cols -1..1: 9 cells, 4 inside.
  CHECK(avg_pool2d(x, {3}, {2}, {1}, false, true).at(0) == doctest::Approx(4.0 / 9));
  CHECK(avg_pool2d(x, {3}, {2}, {1}, false, false).at(0) == 1.0);
  CHECK(avg_pool2d(x, {3}, {2}, {1}, false, true, 5).at(0) == doctest::Approx(4.0 / 5));
  // ceil_mode on 4x4: 3 windows per dim; the last starts at row 3 and would span rows 3..5, but the
  // padded input ends at row 4: count_include_pad counts rows 3..4 and cols 3..4 = 4 cells, 1 inside.
  Tensor x4 = ones({1, 1, 4, 4}, DType::f64);
  Tensor y = avg_pool2d(x4, {3}, {2}, {1}, true, true);
  CHECK(y.shape() == Shape{1, 1, 3, 3});
  CHECK(y.at(8) == doctest::Approx(1.0 / 4));
  CHECK(y.at(0) == doctest::Approx(4.0 / 9));
  CHECK(avg_pool2d(x4, {3}, {2}, {1}, true, false).at(8) == 1.0);
}

TEST_CASE("pool: adaptive_avg_pool2d windows by hand") {
  // H = 5 -> 3: rows [0,2), [1,4), [3,5) (floor(i*5/3), ceil((i+1)*5/3)); they overlap
  Tensor x = reshape(arange(0, 5, 1, DType::f64), {1, 1, 5, 1}).detach().set_requires_grad();
  Tensor y = adaptive_avg_pool2d(x, {3, 1});
  CHECK(y.to_vector() == std::vector<double>{0.5, 2, 3.5});
  y.backward(ones({1, 1, 3, 1}, DType::f64));
  // row 1 is in windows 0 (1/2) and 1 (1/3); row 3 in windows 1 (1/3) and 2 (1/2)
  check_close(x.grad(), {0.5, 0.5 + 1.0 / 3, 1.0 / 3, 1.0 / 3 + 0.5, 0.5}, 1e-12, "grad input");
  CHECK(adaptive_avg_pool2d(zeros({2, 3, 5, 6}), {-1, 4}).shape() == Shape{2, 3, 5, 4});
}

GRADCHECK_TEST_CASE("pool: gradchecks in f64", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d") {
  struct MaxCase {
    Shape s;
    Size2 k, st, p, d;
    bool ceil;
  };
  for (const MaxCase& c : std::vector<MaxCase>{{{2, 2, 6, 6}, {2}, {}, {0}, {1}, false},
                                               {{1, 2, 7, 7}, {3}, {2}, {1}, {1}, false},
                                               {{1, 2, 6, 6}, {3}, {2}, {0}, {1}, true},
                                               {{1, 1, 5, 5}, {2}, {2}, {1}, {1}, true},
                                               {{1, 2, 9, 8}, {3}, {1}, {1}, {2}, false},
                                               {{1, 1, 10, 9}, {2, 3}, {3, 2}, {1, 1}, {3, 2}, true},
                                               {{2, 2, 7, 8}, {2, 3}, {1, 2}, {1, 0}, {1}, false},
                                               {{3, 5, 5}, {2}, {1}, {0}, {1}, false}}) {
    CAPTURE(shape_str(c.s));
    CAPTURE(shape_str(c.k));
    check_grad("max_pool2d",
               [&](const std::vector<Tensor>& v) { return max_pool2d(v[0], c.k, c.st, c.p, c.d, c.ceil); },
               {distinct64(c.s, 11)});
  }
  struct AvgCase {
    Shape s;
    Size2 k, st, p;
    bool ceil, cip;
    int64_t div;
  };
  for (const AvgCase& c : std::vector<AvgCase>{{{2, 2, 6, 6}, {2}, {}, {0}, false, true, 0},
                                               {{1, 2, 7, 7}, {3}, {2}, {1}, false, true, 0},
                                               {{1, 2, 7, 7}, {3}, {2}, {1}, false, false, 0},
                                               {{1, 2, 6, 6}, {3}, {2}, {1}, true, true, 0},
                                               {{1, 2, 6, 6}, {3}, {2}, {1}, true, false, 0},
                                               {{1, 1, 7, 7}, {3}, {2}, {1}, false, true, 5},
                                               {{2, 2, 7, 8}, {3, 2}, {2, 1}, {1, 0}, false, false, 0},
                                               {{3, 5, 5}, {2}, {1}, {0}, false, true, 0}}) {
    CAPTURE(shape_str(c.s));
    CAPTURE(shape_str(c.k));
    check_grad("avg_pool2d",
               [&](const std::vector<Tensor>& v) { return avg_pool2d(v[0], c.k, c.st, c.p, c.ceil, c.cip, c.div); },
               {normal64(c.s, 12)});
  }
  for (auto [s, o] : std::vector<std::pair<Shape, Size2>>{
           {{2, 3, 7, 10}, {3, 4}}, {{1, 2, 3, 4}, {5, 7}}, {{2, 2, 5, 6}, {1}}, {{3, 9, 5}, {4}}}) {
    CAPTURE(shape_str(s));
    check_grad("adaptive_avg_pool2d", [&](const std::vector<Tensor>& v) { return adaptive_avg_pool2d(v[0], o); },
               {normal64(s, 13)});
  }
}

TEST_CASE("pool: f32 agrees with f64") {
  Tensor x = distinct64({2, 3, 9, 9}, 5, false);
  Tensor a = max_pool2d(x, {3}, {2}, {1}, {1}, true), b = max_pool2d(x.to(DType::f32), {3}, {2}, {1}, {1}, true);
  Tensor c = avg_pool2d(x, {3}, {2}, {1}, true, false), d = avg_pool2d(x.to(DType::f32), {3}, {2}, {1}, true, false);
  check_close(b, a, 1e-6, "max_pool2d f32 vs f64");
  check_close(d, c, 1e-5, "avg_pool2d f32 vs f64");
}

TEST_CASE("pool: error messages name the op and the shapes") {
  Tensor x = zeros({1, 1, 4, 4});
  CHECK(error_of([&] {
          max_pool2d(zeros({4, 4}), {2});
        }) == "max_pool2d: expected a 3-D [C,H,W] or 4-D [N,C,H,W] input, got shape [4,4]");
  CHECK(error_of([&] { max_pool2d(x, {3}, {1}, {2}); }) ==
        "max_pool2d: padding [2,2] must be between 0 and half of kernel_size [3,3]");
  CHECK(error_of([&] {
          max_pool2d(zeros({1, 1, 2, 2}), {3});
        }) ==
        "max_pool2d: input [1,1,2,2] with kernel_size [3,3], stride [3,3], padding [0,0], dilation [1,1] gives an "
        "empty output (0x0)");
  CHECK(error_of([&] { max_pool2d(x, {1, 2, 3}); }) == "max_pool2d: kernel_size must have 1 or 2 values, got [1,2,3]");
  CHECK(error_of([&] { avg_pool2d(x, {2}, {0}); }) == "avg_pool2d: stride must be positive, got [0,0]");
  CHECK(error_of([&] { max_pool2d(x, {2}, {1}, {0}, {0}); }) == "max_pool2d: dilation must be positive, got [0,0]");
  CHECK(error_of([&] {
          adaptive_avg_pool2d(x, {-2, 2});
        }) == "adaptive_avg_pool2d: output_size must be non-negative (or -1 to keep a dim), got [-2,2]");
  CHECK(adaptive_avg_pool2d(x, {2, 0}).shape() == Shape{1, 1, 2, 0});  // empty, as PyTorch
  CHECK(error_of([&] {
          max_pool2d(zeros({1, 0, 4, 4}), {2});
        }) == "max_pool2d: input of shape [1,0,4,4] has an empty channel or spatial dimension");
}

TEST_CASE("pool: same bits for 1, 2 and 3 threads") {
  Tensor x = distinct64({2, 8, 40, 40}, 21, false);  // 25600 planes' elements: above the parallel threshold
  same_bits_for_threads([&] {
    std::vector<std::pair<std::string, Tensor>> r;
    for (const std::string which : {"max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"}) {
      Tensor xi = x.contiguous_copy_no_grad().set_requires_grad();
      Tensor y = which == "max_pool2d"   ? max_pool2d(xi, {3}, {2}, {1}, {1}, true)
                 : which == "avg_pool2d" ? avg_pool2d(xi, {3}, {2}, {1}, true, false)
                                         : adaptive_avg_pool2d(xi, {20, 20});
      y.backward(normal64(y.shape(), 22, 0, 1, false));
      r.push_back({which + " out", y});
      r.push_back({which + " grad input", xi.grad()});
    }
    return r;
  });
}
