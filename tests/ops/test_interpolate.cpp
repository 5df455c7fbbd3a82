// interpolate: hand-computed coordinates (nearest, nearest-exact, bilinear with and without
// align_corners, recompute_scale_factor), f64 gradchecks, errors, thread-count determinism.
// PyTorch goldens: tests/golden/manifest_nn.json.
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "tests/support.h"

using namespace dg;

namespace {
InterpolateOptions opts(InterpMode mode, std::vector<int64_t> size, std::vector<double> sf,
                        std::optional<bool> align = std::nullopt, std::optional<bool> recompute = std::nullopt) {
  InterpolateOptions o;
  o.mode = mode;
  o.size = std::move(size);
  o.scale_factor = std::move(sf);
  o.align_corners = align;
  o.recompute_scale_factor = recompute;
  return o;
}
}  // namespace

TEST_CASE("interpolate: nearest coordinates by hand") {
  Tensor ramp = reshape(arange(0, 5, 1, DType::f64), {1, 1, 5});
  // scale_factor 1.7: 5 -> floor(8.5) = 8 outputs; src = floor(dst / 1.7) = 0,0,1,1,2,2,3,4
  CHECK(interpolate(ramp, opts(InterpMode::nearest, {}, {1.7})).to_vector() ==
        std::vector<double>{0, 0, 1, 1, 2, 2, 3, 4});
  // recompute_scale_factor: the scale is 5/8 instead: floor(dst * 0.625) = 0,0,1,1,2,3,3,4
  CHECK(interpolate(ramp, opts(InterpMode::nearest, {}, {1.7}, std::nullopt, true)).to_vector() ==
        std::vector<double>{0, 0, 1, 1, 2, 3, 3, 4});
  // nearest-exact samples pixel centres: floor((dst + 0.5) * 5/8) = 0,0,1,2,2,3,4,4
  CHECK(interpolate(ramp, opts(InterpMode::nearest_exact, {8}, {})).to_vector() ==
        std::vector<double>{0, 0, 1, 2, 2, 3, 4, 4});
  // downsampling by 2 keeps even indices
  Tensor r4 = reshape(arange(0, 16, 1, DType::f64), {1, 1, 4, 4});
  CHECK(interpolate(r4, opts(InterpMode::nearest, {}, {0.5})).to_vector() == std::vector<double>{0, 2, 8, 10});
  // the backward of nearest upsampling x2 sums each 2x2 block of the gradient
  Tensor x = ones({1, 1, 2, 2}, DType::f64).set_requires_grad();
  Tensor y = interpolate(x, opts(InterpMode::nearest, {}, {2}));
  y.backward(reshape(arange(0, 16, 1, DType::f64), {1, 1, 4, 4}));
  CHECK(x.grad().to_vector() == std::vector<double>{0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15});
}

TEST_CASE("interpolate: bilinear coordinates by hand") {
  Tensor row = tensor({0, 1}, {1, 1, 1, 2}, DType::f64);
  // align_corners=false, 2 -> 4, s = 0.5: src = (dst + 0.5) * 0.5 - 0.5 = -0.25 (clamped to 0), 0.25,
  // 0.75, 1.25 (i0 = 1 is the last pixel: i1 = i0) -> 0, 0.25, 0.75, 1
  check_close(interpolate(row, opts(InterpMode::bilinear, {1, 4}, {})), {0, 0.25, 0.75, 1});
  // align_corners=true: src = dst * (2 - 1) / (4 - 1) -> 0, 1/3, 2/3, 1
  check_close(interpolate(row, opts(InterpMode::bilinear, {1, 4}, {}, true)), {0, 1.0 / 3, 2.0 / 3, 1});
  // 2-D: 2x2 -> 3x3 with align_corners=true gives the centre = mean of the four corners
  Tensor sq = tensor({1, 2, 3, 4}, {1, 1, 2, 2}, DType::f64);
  Tensor c = interpolate(sq, opts(InterpMode::bilinear, {3, 3}, {}, true));
  check_close(c, {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4});
  // same size is an exact copy (PyTorch's shortcut), even with a scale_factor (4 * 1.1 -> 4)
  Tensor r = normal64({1, 2, 4, 4}, 3, 0, 1, false);
  CHECK(interpolate(r, opts(InterpMode::bilinear, {}, {1.1})).to_vector() == r.to_vector());
}

TEST_CASE("interpolate: PyTorch's nearest shortcuts (NOTE in interpolate.cpp)") {
  // size 3 * 1.25 -> 3. The generic forward kernel reads floor(dst / 1.25) = 0, 0, 1; the
  // channels-last kernel (4-D, C == 1) and every backward treat out == in as the identity.
  auto o = opts(InterpMode::nearest, {}, {1.25});
  Tensor a = reshape(arange(0, 6, 1, DType::f64), {1, 2, 3}).detach().set_requires_grad();
  Tensor ya = interpolate(a, o);
  CHECK(ya.to_vector() == std::vector<double>{0, 0, 1, 3, 3, 4});
  ya.backward(reshape(arange(1, 7, 1, DType::f64), {1, 2, 3}));
  CHECK(a.grad().to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});  // the identity, as PyTorch
  Tensor b = reshape(arange(0, 9, 1, DType::f64), {1, 1, 3, 3});
  CHECK(interpolate(b, o).to_vector() == b.to_vector());
  Tensor c = reshape(arange(0, 18, 1, DType::f64), {1, 2, 3, 3});
  CHECK(interpolate(c, o).to_vector()[1] == 0);  // row 0 reads columns 0, 0, 1
}

TEST_CASE("interpolate: linear and area modes") {
  Tensor row = tensor({0, 1, 2, 3}, {1, 1, 4}, DType::f64);
  check_close(interpolate(row, opts(InterpMode::linear, {6}, {}, true)), {0, 0.6, 1.2, 1.8, 2.4, 3});
  check_close(interpolate(row, opts(InterpMode::linear, {6}, {})), {0, 0.5, 7.0 / 6, 11.0 / 6, 2.5, 3});
  // area = adaptive average pooling: 4 -> 2 averages pairs
  check_close(interpolate(row, opts(InterpMode::area, {}, {0.5})), {0.5, 2.5});
  Tensor sq = reshape(arange(0, 16, 1, DType::f64), {1, 1, 4, 4});
  check_close(interpolate(sq, opts(InterpMode::area, {2, 2}, {})), {2.5, 4.5, 10.5, 12.5});
  CHECK(error_of([&] { interpolate(sq, opts(InterpMode::linear, {2}, {})); }) ==
        "interpolate: mode linear expects a 3-D [N,C,L] input, got shape [1,1,4,4]");
}

GRADCHECK_TEST_CASE("interpolate: gradchecks in f64", "interpolate") {
  const auto N = InterpMode::nearest, E = InterpMode::nearest_exact, B = InterpMode::bilinear;
  struct C {
    Shape s;
    InterpolateOptions o;
  };
  std::vector<C> cases{{{2, 2, 4, 5}, opts(N, {}, {2})},
                       {{1, 2, 6, 8}, opts(N, {}, {0.5})},
                       {{1, 2, 5, 7}, opts(N, {}, {1.7})},
                       {{1, 2, 7, 9}, opts(N, {3, 4}, {})},
                       {{2, 3, 4}, opts(N, {}, {2.5})},
                       {{1, 2, 5, 7}, opts(E, {}, {1.7})},
                       {{2, 2, 4, 5}, opts(B, {}, {2})},
                       {{1, 2, 6, 8}, opts(B, {}, {0.5})},
                       {{1, 2, 5, 7}, opts(B, {}, {1.7})},
                       {{1, 2, 5, 7}, opts(B, {}, {1.7}, false, true)},
                       {{1, 2, 4, 5}, opts(B, {7, 3}, {}, true)},
                       {{1, 2, 4, 5}, opts(B, {}, {1.7}, true)},
                       {{1, 1, 1, 3}, opts(B, {4, 1}, {}, true)},
                       {{1, 1, 5, 6}, opts(B, {}, {1.5, 0.6})},
                       {{2, 3, 5}, opts(InterpMode::linear, {}, {1.7})},
                       {{2, 3, 5}, opts(InterpMode::linear, {8}, {}, true)},
                       {{1, 2, 7, 9}, opts(InterpMode::area, {3, 4}, {})},
                       {{2, 2, 7}, opts(InterpMode::area, {}, {1.6})}};
  for (const C& c : cases) {
    CAPTURE(shape_str(c.s));
    CAPTURE(interp_mode_name(c.o.mode));
    check_grad("interpolate", [&](const std::vector<Tensor>& v) { return interpolate(v[0], c.o); },
               {normal64(c.s, 31)});
  }
}

TEST_CASE("interpolate: error messages") {
  Tensor x = zeros({1, 2, 3, 3});
  CHECK(error_of([&] {
          interpolate(zeros({1, 2, 3}), opts(InterpMode::bilinear, {}, {2}));
        }) == "interpolate: mode bilinear expects a 4-D [N,C,H,W] input, got shape [1,2,3]");
  CHECK(error_of([&] { interpolate(x, opts(InterpMode::nearest, {}, {2}, false)); }) ==
        "interpolate: align_corners can only be set with modes linear and bilinear, not nearest");
  CHECK(error_of([&] { interpolate(x, opts(InterpMode::nearest, {4}, {2})); }) ==
        "interpolate: give exactly one of size and scale_factor");
  CHECK(error_of([&] { interpolate(x, opts(InterpMode::nearest, {4}, {}, std::nullopt, true)); }) ==
        "interpolate: recompute_scale_factor is not meaningful with an explicit size");
  CHECK(error_of([&] {
          interpolate(x, opts(InterpMode::nearest, {4, 4, 4}, {}));
        }) == "interpolate: size [4,4,4] must have 1 or 2 values for input [1,2,3,3]");
  CHECK(error_of([&] { interpolate(x, opts(InterpMode::nearest, {}, {0.2})); }) ==
        "interpolate: input [1,2,3,3] gives an empty output size 0 in spatial dim 0");
  CHECK(error_of([&] { parse_interp_mode("bicubic"); }) ==
        "interpolate: mode must be nearest, nearest-exact, linear, bilinear or area, got 'bicubic'");
}

TEST_CASE("interpolate: same bits for 1, 2 and 3 threads") {
  Tensor x = normal64({2, 8, 30, 30}, 41, 0, 1, false);
  same_bits_for_threads([&] {
    std::vector<std::pair<std::string, Tensor>> r;
    for (InterpMode m : {InterpMode::nearest, InterpMode::bilinear}) {
      Tensor xi = x.contiguous_copy_no_grad().set_requires_grad();
      Tensor y = interpolate(xi, opts(m, {}, {1.7}));
      y.backward(normal64(y.shape(), 42, 0, 1, false));
      r.push_back({std::string(interp_mode_name(m)) + " out", y});
      r.push_back({std::string(interp_mode_name(m)) + " grad input", xi.grad()});
    }
    return r;
  });
}
