// dropout (statistics and structure: its mask is detgrad's own, so PyTorch goldens only cover p = 0,
// p = 1 and eval) and channel_shuffle (permutation by hand, gradcheck, errors).
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "tests/support.h"

using namespace dg;

TEST_CASE("dropout: keeps 1 - p of the elements, scaled by 1 / (1 - p)") {
  const int64_t n = 100000;
  Tensor x = full({n}, 2.0, DType::f64).set_requires_grad();
  Tensor y = dropout(x, 0.3, true, uint64_t{7});
  int64_t zeros_seen = 0;
  bool scaled = true;
  for (int64_t i = 0; i < n; ++i) {
    const double v = y.at(i);
    if (v == 0) ++zeros_seen;
    else scaled = scaled && std::abs(v - 2.0 / 0.7) < 1e-12;
  }
  CHECK(scaled);
  // binomial: std of the dropped fraction is sqrt(0.3 * 0.7 / n) ~ 0.0015; 0.01 is ~7 sigma
  CHECK(std::abs((double)zeros_seen / (double)n - 0.3) < 0.01);
  // dx = g * mask / (1 - p): with g = 1 the gradient is y / x
  y.backward(ones({n}, DType::f64));
  bool grad_ok = true;
  for (int64_t i = 0; i < n; ++i) grad_ok = grad_ok && x.grad().at(i) == y.at(i) / 2.0;
  CHECK(grad_ok);
}

TEST_CASE("dropout: seeded, deterministic, and the identity cases") {
  Tensor x = normal64({4, 50}, 3, 0, 1, false);
  CHECK(dropout(x, 0.5, true, uint64_t{1}).to_vector() == dropout(x, 0.5, true, uint64_t{1}).to_vector());
  CHECK(dropout(x, 0.5, true, uint64_t{1}).to_vector() != dropout(x, 0.5, true, uint64_t{2}).to_vector());
  Generator gen(5);  // one generator advances: two calls give two different masks
  CHECK(dropout(x, 0.5, true, gen).to_vector() != dropout(x, 0.5, true, gen).to_vector());
  CHECK(dropout(x, 0.5, false, uint64_t{1}).raw() == x.raw());  // eval: the input itself
  CHECK(dropout(x, 0.0, true, uint64_t{1}).raw() == x.raw());
  Tensor xg = x.contiguous_copy_no_grad().set_requires_grad();
  Tensor y1 = dropout(xg, 1.0, true, uint64_t{1});
  CHECK(y1.to_vector() == std::vector<double>(200, 0.0));
  y1.backward(ones({4, 50}, DType::f64));
  CHECK(xg.grad().to_vector() == std::vector<double>(200, 0.0));
  CHECK(dropout(x.to(DType::f32), 0.25, true, uint64_t{9}).dtype() == DType::f32);
  CHECK(error_of([&] { dropout(x, 1.5, true, uint64_t{1}); }) ==
        "dropout: probability p must be between 0 and 1, got 1.5");
}

GRADCHECK_TEST_CASE("dropout: gradcheck of the mask in f64", "dropout") {
  // the same seed inside f each time, so the function is fixed
  check_grad("dropout", [](const std::vector<Tensor>& v) { return dropout(v[0], 0.4, true, uint64_t{11}); },
             {normal64({3, 7}, 12)});
}

GRADCHECK_TEST_CASE("channel_shuffle: the permutation by hand, gradcheck and errors", "channel_shuffle") {
  // C = 6, groups 2: view [2 groups, 3], transpose -> channel order 0,3,1,4,2,5
  Tensor x = reshape(arange(0, 6, 1, DType::f64), {1, 6, 1, 1});
  CHECK(channel_shuffle(x, 2).to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK(channel_shuffle(x, 3).to_vector() == std::vector<double>{0, 2, 4, 1, 3, 5});
  CHECK(channel_shuffle(x, 1).to_vector() == x.to_vector());
  auto shuffle = [](int64_t g) { return [g](const std::vector<Tensor>& v) { return channel_shuffle(v[0], g); }; };
  check_grad("channel_shuffle", shuffle(3), {normal64({2, 6, 2, 3}, 13)});
  check_grad("channel_shuffle", shuffle(2), {normal64({2, 4, 5}, 14)});
  CHECK(error_of([] {
          channel_shuffle(zeros({1, 6, 2, 2}), 4);
        }) == "channel_shuffle: groups 4 must divide the 6 channels of input [1,6,2,2]");
  CHECK(error_of([] {
          channel_shuffle(zeros({2, 6}), 2);
        }) == "channel_shuffle: expected an input [N,C,*] with at least 3 dims, got shape [2,6]");
}
