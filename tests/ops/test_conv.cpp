// conv2d / conv_transpose2d: the fast op (im2col + GEMM, 1x1, depthwise, chunked images) against the
// direct loops of autograd/kernels/im2col.h on awkward shapes, forward and all gradients; f64
// gradchecks; padding="same"/"valid"; f16/bf16; thread-count independence; error messages.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "autograd/kernels/im2col.h"
#include "autograd/ops.h"
#include "tests/support.h"

using namespace dg;
using kernels::ConvGeom;

namespace {

// One convolution problem, printable so a failure names it.
struct ConvCase {
  int64_t N, C, H, W, O, kh, kw;
  Hw stride, padding, dilation;
  int64_t groups;
  bool bias;
  std::string str() const {
    std::ostringstream os;
    os << "N=" << N << " C=" << C << " H=" << H << " W=" << W << " O=" << O << " k=" << kh << "x" << kw
       << " s=" << stride.h << "," << stride.w << " p=" << padding.h << "," << padding.w << " d=" << dilation.h << ","
       << dilation.w << " groups=" << groups << (bias ? " bias" : "");
    return os.str();
  }
  ConvGeom geom() const {
    ConvGeom g;
    g.H = H, g.W = W, g.kh = kh, g.kw = kw, g.sh = stride.h, g.sw = stride.w, g.ph = padding.h, g.pw = padding.w;
    g.dh = dilation.h, g.dw = dilation.w;
    g.Ho = kernels::conv_out_size(H, kh, g.sh, g.ph, g.dh);
    g.Wo = kernels::conv_out_size(W, kw, g.sw, g.pw, g.dw);
    return g;
  }
};

// Odd sizes, stride 2/3, dilation 2, padding, groups 2/4, depthwise (multiplier 1 and 2), 1x1
// (the no-im2col path, and strided/padded 1x1 through im2col), batch 1 and 3, non-square kernels,
// P >= 1024 (one image per GEMM) and small P (several images per GEMM).
const std::vector<ConvCase> kCases = {
    {1, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, true},
    {3, 3, 7, 6, 5, 3, 3, 2, 1, 1, 1, true},
    {3, 4, 9, 8, 6, 3, 2, {3, 2}, {1, 0}, 1, 1, false},
    {2, 2, 9, 9, 3, 3, 3, 1, 2, 2, 1, true},
    {3, 4, 7, 7, 6, 3, 3, 1, 1, 1, 2, true},
    {2, 8, 6, 5, 8, 3, 1, 2, {1, 0}, 1, 4, false},
    {3, 4, 7, 6, 4, 3, 3, 1, 1, 1, 4, true},             // depthwise
    {2, 3, 8, 7, 6, 3, 3, 2, 1, {2, 1}, 3, true},        // depthwise, multiplier 2, stride 2, dilation
    {1, 5, 9, 4, 5, 5, 3, {3, 1}, {2, 1}, 1, 5, false},  // depthwise, non-square, stride 3
    {3, 6, 5, 7, 4, 1, 1, 1, 0, 1, 1, true},             // 1x1: no im2col
    {2, 6, 5, 7, 4, 1, 1, 1, 0, 1, 2, false},            // grouped 1x1
    {2, 3, 7, 7, 2, 1, 1, 2, 1, 1, 1, true},             // strided, padded 1x1 (im2col path)
    {2, 2, 34, 33, 3, 3, 3, 1, 1, 1, 1, true},           // P = 1122: one image per GEMM
    {5, 3, 4, 4, 4, 3, 3, 1, 1, 1, 1, true},             // P = 16: five images in one GEMM
    {3, 4, 5, 5, 64, 3, 3, 1, 1, 1, 1, true},            // one chunk of 3 images shared by output-channel blocks
    {2, 4, 5, 5, 64, 3, 3, 1, 1, 1, 2, false},           // the same, grouped
    {3, 2, 3, 3, 2, 3, 3, 1, 0, 1, 1, true},             // 1x1 output
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, true},
};

template <class T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

template <class T>
std::vector<double> to_double(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// Runs conv2d (fast) and the direct loops on the same data; compares output and all gradients. The
// sums run over up to ~2000 products in different orders: errors scale with the largest magnitude
// (check_close's ErrorScale::tensor).
template <class T>
void check_against_direct(const ConvCase& c, DType dt, double tol) {
  CAPTURE(c.str());
  Generator gen(7);
  const ConvGeom g = c.geom();
  Tensor x = randn({c.N, c.C, c.H, c.W}, gen, dt).set_requires_grad();
  Tensor w = randn({c.O, c.C / c.groups, c.kh, c.kw}, gen, dt).set_requires_grad();
  Tensor b = c.bias ? randn({c.O}, gen, dt).set_requires_grad() : Tensor();
  Tensor gout = randn({c.N, c.O, g.Ho, g.Wo}, gen, dt);
  Tensor out = conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups);
  REQUIRE(out.shape() == Shape{c.N, c.O, g.Ho, g.Wo});
  out.backward(gout);

  std::vector<T> ref((size_t)out.numel()), dx((size_t)x.numel()), dw((size_t)w.numel()), db((size_t)c.O);
  kernels::conv2d_direct_ref(x.data<T>(), w.data<T>(), c.bias ? b.data<T>() : (const T*)nullptr, c.N, c.C, c.O,
                             c.groups, g, ref.data());
  kernels::conv2d_direct_backward_ref(gout.data<T>(), x.data<T>(), w.data<T>(), c.N, c.C, c.O, c.groups, g, dx.data(),
                                      dw.data(), db.data());
  check_close(out, to_double(ref), tol, "out", ErrorScale::tensor);
  check_close(x.grad(), to_double(dx), tol, "grad input", ErrorScale::tensor);
  check_close(w.grad(), to_double(dw), tol, "grad weight", ErrorScale::tensor);
  if (c.bias) check_close(b.grad(), to_double(db), tol, "grad bias", ErrorScale::tensor);
}

}  // namespace

TEST_CASE("conv2d: equals the direct loops, forward and gradients (f64, f32)") {
  for (const ConvCase& c : kCases) {
    check_against_direct<double>(c, DType::f64, 1e-12);
    check_against_direct<float>(c, DType::f32, 1e-5);
  }
}

// conv_transpose2d against the direct loops read backwards: its output is the direct conv2d's input
// gradient, its input gradient is the direct conv2d's output, its weight gradient the direct
// conv2d's weight gradient with the roles of input and upstream gradient exchanged.
TEST_CASE("conv_transpose2d: equals the adjoint of the direct loops, forward and gradients") {
  struct TCase {
    int64_t N, Cin, H, W, Cout, kh, kw;
    Hw stride, padding, output_padding;
    int64_t groups;
    Hw dilation;
    bool bias;
  };
  const std::vector<TCase> cases = {
      {2, 3, 4, 5, 2, 3, 3, 1, 0, 0, 1, 1, true},
      {1, 4, 3, 3, 6, 4, 4, 2, 1, 0, 1, 1, false},                // the CenterNet upsampler: k4 s2 p1
      {3, 2, 4, 3, 3, 3, 2, {2, 3}, {1, 0}, {1, 2}, 1, 1, true},  // output_padding < stride
      {2, 4, 3, 4, 6, 3, 3, 2, 1, 1, 2, 1, true},                 // groups 2
      {2, 4, 3, 3, 4, 3, 3, 1, 1, 0, 4, 2, true},                 // depthwise, dilation 2
      {2, 4, 3, 3, 4, 3, 3, 2, 1, 1, 4, 1, true},                 // depthwise, stride 2, output_padding
      {1, 3, 3, 4, 3, 3, 3, 1, 1, 1, 3, 2, true},                 // depthwise, output_padding < dilation
      {1, 2, 3, 4, 3, 3, 3, 1, 0, 1, 1, 2, false},                // output_padding < dilation (stride 1)
      {2, 6, 5, 4, 4, 1, 1, 1, 0, 0, 2, 1, true},                 // 1x1
      {1, 6, 4, 1, 4, 1, 1, 1, 0, 1, 2, 2, true},  // 1x1 with output_padding < dilation: extra rows get only the bias
      {4, 3, 2, 2, 2, 3, 3, 2, 0, 1, 1, 1, true},  // several images per GEMM
  };
  for (const TCase& t : cases)
    for (DType dt : {DType::f64, DType::f32}) {
      CAPTURE(t.N);
      CAPTURE(t.Cin);
      CAPTURE(t.Cout);
      CAPTURE(t.groups);
      CAPTURE(t.output_padding.h);
      const double tol = dt == DType::f64 ? 1e-12 : 1e-5;
      Generator gen(11);
      Tensor x = randn({t.N, t.Cin, t.H, t.W}, gen, dt).set_requires_grad();
      Tensor w = randn({t.Cin, t.Cout / t.groups, t.kh, t.kw}, gen, dt).set_requires_grad();
      Tensor b = t.bias ? randn({t.Cout}, gen, dt).set_requires_grad() : Tensor();
      Tensor out = conv_transpose2d(x, w, b, t.stride, t.padding, t.output_padding, t.groups, t.dilation);
      const int64_t Ho = (t.H - 1) * t.stride.h - 2 * t.padding.h + t.dilation.h * (t.kh - 1) + t.output_padding.h + 1;
      const int64_t Wo = (t.W - 1) * t.stride.w - 2 * t.padding.w + t.dilation.w * (t.kw - 1) + t.output_padding.w + 1;
      REQUIRE(out.shape() == Shape{t.N, t.Cout, Ho, Wo});
      Tensor gout = randn(out.shape(), gen, dt);
      out.backward(gout);
      // the conv2d [N, Cout, Ho, Wo] -> [N, Cin, H, W] whose adjoint this is
      ConvGeom g;
      g.H = Ho, g.W = Wo, g.kh = t.kh, g.kw = t.kw, g.sh = t.stride.h, g.sw = t.stride.w;
      g.ph = t.padding.h, g.pw = t.padding.w, g.dh = t.dilation.h, g.dw = t.dilation.w, g.Ho = t.H, g.Wo = t.W;
      auto run = [&](auto tag) {
        using T = decltype(tag);
        std::vector<T> fwd((size_t)out.numel()), dx((size_t)x.numel()), dw((size_t)w.numel()), db((size_t)t.Cout);
        kernels::conv2d_direct_backward_ref(x.data<T>(), (const T*)nullptr, w.data<T>(), t.N, t.Cout, t.Cin, t.groups,
                                            g, fwd.data(), (T*)nullptr, (T*)nullptr);
        if (t.bias)
          for (size_t i = 0; i < fwd.size(); ++i) fwd[i] += b.data<T>()[(i / (size_t)(Ho * Wo)) % (size_t)t.Cout];
        kernels::conv2d_direct_ref(gout.data<T>(), w.data<T>(), (const T*)nullptr, t.N, t.Cout, t.Cin, t.groups, g,
                                   dx.data());
        kernels::conv2d_direct_backward_ref(x.data<T>(), gout.data<T>(), (const T*)nullptr, t.N, t.Cout, t.Cin,
                                            t.groups, g, (T*)nullptr, dw.data(), (T*)nullptr);
        check_close(out, to_double(fwd), tol, "out", ErrorScale::tensor);
        check_close(x.grad(), to_double(dx), tol, "grad input", ErrorScale::tensor);
        check_close(w.grad(), to_double(dw), tol, "grad weight", ErrorScale::tensor);
        if (t.bias) {
          Tensor db_t = sum(gout, {0, 2, 3});
          check_close(b.grad(), db_t.to_vector(), tol, "grad bias", ErrorScale::tensor);
        }
      };
      if (dt == DType::f64) run(double());
      else run(float());
    }
}

GRADCHECK_TEST_CASE("conv2d: gradcheck in f64 (bias, stride, padding, dilation, groups, depthwise, 1x1)", "conv2d") {
  const std::vector<ConvCase> cases = {
      {2, 2, 4, 5, 3, 3, 3, 1, 1, 1, 1, true},       {1, 2, 5, 5, 2, 3, 2, 2, {1, 0}, 1, 1, true},
      {1, 2, 6, 6, 2, 3, 3, 1, 2, 2, 1, false},      {2, 4, 4, 4, 2, 3, 3, 1, 1, 1, 2, true},  // groups
      {2, 3, 5, 4, 3, 3, 3, {2, 1}, 1, 1, 3, true},                                            // depthwise
      {1, 2, 4, 4, 4, 2, 3, 1, 1, {1, 2}, 2, false},  // depthwise, multiplier 2
      {2, 3, 3, 4, 2, 1, 1, 1, 0, 1, 1, true},        // 1x1
      {4, 2, 3, 3, 2, 2, 2, 1, 0, 1, 1, true},        // four images in one GEMM
  };
  for (const ConvCase& c : cases) {
    CAPTURE(c.str());
    Generator gen(3);
    std::vector<Tensor> in = {randn({c.N, c.C, c.H, c.W}, gen, DType::f64).set_requires_grad(),
                              randn({c.O, c.C / c.groups, c.kh, c.kw}, gen, DType::f64).set_requires_grad()};
    if (c.bias) in.push_back(randn({c.O}, gen, DType::f64).set_requires_grad());
    auto f = [c](const std::vector<Tensor>& t) {
      return conv2d(t[0], t[1], c.bias ? t[2] : Tensor(), c.stride, c.padding, c.dilation, c.groups);
    };
    check_grad("conv2d", f, in);
  }
}

GRADCHECK_TEST_CASE("conv_transpose2d: gradcheck in f64 (output_padding, groups, dilation, stride)",
                    "conv_transpose2d") {
  struct T {
    Shape x, w;
    Hw stride, padding, output_padding;
    int64_t groups;
    Hw dilation;
    bool bias;
  };
  const std::vector<T> cases = {
      {{2, 2, 3, 3}, {2, 3, 3, 3}, 1, 0, 0, 1, 1, true},
      {{1, 2, 3, 2}, {2, 2, 4, 4}, 2, 1, 1, 1, 1, true},
      {{1, 4, 2, 3}, {4, 1, 3, 2}, {2, 1}, 0, {1, 0}, 2, 1, false},
      {{2, 3, 3, 3}, {3, 1, 3, 3}, 1, 1, 1, 3, 2, true},  // depthwise, output_padding < dilation
  };
  for (const T& t : cases) {
    Generator gen(5);
    std::vector<Tensor> in = {randn(t.x, gen, DType::f64).set_requires_grad(),
                              randn(t.w, gen, DType::f64).set_requires_grad()};
    if (t.bias) in.push_back(randn({t.w[1] * t.groups}, gen, DType::f64).set_requires_grad());
    auto f = [t](const std::vector<Tensor>& v) {
      return conv_transpose2d(v[0], v[1], t.bias ? v[2] : Tensor(), t.stride, t.padding, t.output_padding, t.groups,
                              t.dilation);
    };
    CAPTURE(shape_str(t.x));
    CAPTURE(shape_str(t.w));
    check_grad("conv_transpose2d", f, in);
  }
}

TEST_CASE("conv2d: padding='same' and 'valid'") {
  Generator gen(9);
  Tensor x = randn({2, 3, 6, 5}, gen, DType::f64);
  Tensor w3 = randn({4, 3, 3, 3}, gen, DType::f64);
  Tensor b = randn({4}, gen, DType::f64);
  CHECK(conv2d(x, w3, b, 1, Padding::valid).to_vector() == conv2d(x, w3, b, 1, 0).to_vector());
  CHECK(conv2d(x, w3, b, 1, Padding::same).to_vector() == conv2d(x, w3, b, 1, 1).to_vector());
  // even kernel / dilation 3 with a 2-wide kernel: odd total padding, the extra row/column at the end
  Tensor w4 = randn({4, 3, 4, 2}, gen, DType::f64);
  Tensor same = conv2d(x, w4, b, 1, Padding::same, Hw(1, 3));
  CHECK(same.shape() == Shape{2, 4, 6, 5});
  Tensor manual = conv2d(pad(x, {1, 2, 1, 2}), w4, b, 1, 0, Hw(1, 3));  // total 3 = 1 left + 2 right
  CHECK(same.to_vector() == manual.to_vector());
  CHECK(error_of([&] { conv2d(x, w3, b, 2, Padding::same); }) ==
        "conv2d: padding='same' is not supported for strided convolutions (stride (2, 2))");
}

TEST_CASE("conv2d: f16 and bf16 compute in f32 and round back") {
  Generator gen(13);
  Tensor x32 = randn({2, 4, 5, 5}, gen), w32 = randn({6, 2, 3, 3}, gen), b32 = randn({6}, gen);
  for (DType h : {DType::f16, DType::bf16}) {
    Tensor x = x32.to(h).detach().set_requires_grad(), w = w32.to(h).detach().set_requires_grad();
    Tensor b = b32.to(h).detach().set_requires_grad();
    Tensor out = conv2d(x, w, b, 1, 1, 1, 2);
    CHECK(out.dtype() == h);
    Tensor want = conv2d(x.to(DType::f32), w.to(DType::f32), b.to(DType::f32), 1, 1, 1, 2).to(h);
    CHECK(out.to_vector() == want.to_vector());
    sum(out.to(DType::f32)).backward();
    CHECK(x.grad().dtype() == h);
    CHECK(w.grad().dtype() == h);
    CHECK(b.grad().dtype() == h);
    Tensor t = conv_transpose2d(x, zeros({4, 3, 3, 3}, h), Tensor(), 2, 1, 1, 2);
    CHECK(t.dtype() == h);
    CHECK(t.shape() == Shape{2, 6, 10, 10});
  }
}

TEST_CASE("conv2d: the same bits for 1, 2 and 3 threads") {
  same_bits_for_threads([] {
    Generator gen(17);
    std::vector<std::pair<std::string, Tensor>> r;
    for (int64_t groups : {1, 2, 16}) {  // im2col + GEMM, grouped, depthwise
      Tensor x = randn({3, 16, 23, 21}, gen).set_requires_grad();
      Tensor w = randn({16, 16 / groups, 3, 3}, gen).set_requires_grad();
      Tensor b = randn({16}, gen).set_requires_grad();
      Tensor w1 = randn({8, 16, 1, 1}, gen).set_requires_grad();
      Tensor y = conv2d(relu(conv2d(x, w, b, 1, 1, 1, groups)), w1);
      Tensor z = conv_transpose2d(y, randn({8, 4, 4, 4}, gen), Tensor(), 2, 1);
      sum(mul(z, z)).backward();
      const std::string g = "groups=" + std::to_string(groups) + " ";
      r.insert(r.end(), {{g + "out", z},
                         {g + "grad input", x.grad()},
                         {g + "grad weight", w.grad()},
                         {g + "grad bias", b.grad()},
                         {g + "grad 1x1 weight", w1.grad()}});
    }
    // a deep-layer shape: several images per GEMM, output channels split into a thread-dependent
    // number of blocks sharing one column matrix
    Tensor x = randn({3, 8, 6, 6}, gen).set_requires_grad(), w = randn({64, 8, 3, 3}, gen).set_requires_grad();
    Tensor y = conv2d(x, w, Tensor(), 1, 1);
    sum(mul(y, y)).backward();
    r.insert(r.end(), {{"deep out", y}, {"deep grad input", x.grad()}, {"deep grad weight", w.grad()}});
    return r;
  });
}

TEST_CASE("conv2d: empty batch") {
  Tensor x = zeros({0, 3, 5, 5}).set_requires_grad(), w = ones({2, 3, 3, 3}).set_requires_grad();
  Tensor out = conv2d(x, w, Tensor(), 1, 1);
  CHECK(out.shape() == Shape{0, 2, 5, 5});
  sum(out).backward();
  CHECK(w.grad().shape() == Shape{2, 3, 3, 3});
  CHECK(sum(abs(w.grad())).item() == 0.0);
}

TEST_CASE("conv2d, conv_transpose2d: error messages name the op and the shapes") {
  Tensor x = zeros({2, 4, 5, 5}), w = zeros({6, 2, 3, 3}), b = zeros({6});
  CHECK(error_of([&] { conv2d(zeros({4, 5, 5}), w); }) == "conv2d: expected a 4-D input [N, C, H, W], got [4,5,5]");
  CHECK(error_of([&] { conv2d(x, zeros({6, 2, 3})); }) == "conv2d: expected a 4-D weight, got [6,2,3]");
  CHECK(error_of([&] { conv2d(x, w); }) ==
        "conv2d: weight [6,2,3,3] expects 2 input channels (2 per group x groups=1), input [2,4,5,5] has 4");
  CHECK(error_of([&] { conv2d(x, w, Tensor(), 1, 0, 1, 3); }) ==
        "conv2d: input channels 4 (input [2,4,5,5]) not divisible by groups=3");
  CHECK(error_of([&] {
          conv2d(x, zeros({5, 2, 3, 3}), Tensor(), 1, 0, 1, 2);
        }) == "conv2d: output channels 5 (weight [5,2,3,3]) not divisible by groups=2");
  CHECK(error_of([&] { conv2d(x, w, zeros({5}), 1, 0, 1, 2); }) ==
        "conv2d: bias [5] must have 6 entries (weight [6,2,3,3])");
  CHECK(error_of([&] {
          conv2d(x, zeros({6, 4, 7, 3}));
        }) ==
        "conv2d: input [2,4,5,5] with padding (0, 0) is smaller than the dilated kernel (weight [6,4,7,3], "
        "dilation (1, 1)): output would be -1x3");
  CHECK(error_of([&] { conv2d(x, w.to(DType::f64), Tensor(), 1, 0, 1, 2); }) == "conv2d: dtype mismatch: f32 and f64");
  CHECK(error_of([&] { conv2d(x, w, b, 0, 0, 1, 2); }) == "conv2d: stride must be positive, got (0, 0)");
  CHECK(error_of([&] { conv2d(x, w, b, 1, Hw(0, -1), 1, 2); }) == "conv2d: padding must be non-negative, got (0, -1)");
  CHECK(error_of([&] { conv2d(x, w, b, 1, 0, 0, 2); }) == "conv2d: dilation must be positive, got (0, 0)");
  CHECK(error_of([&] { conv2d(x, w, b, 1, 0, 1, 0); }) == "conv2d: groups must be positive, got 0");
  CHECK(error_of([&] {
          conv2d(zeros({2, 4, 0, 5}), w, b, 1, 0, 1, 2);
        }) == "conv2d: input [2,4,0,5] must have non-zero channels and spatial size");
  Tensor wt = zeros({4, 3, 3, 3});
  CHECK(error_of([&] { conv_transpose2d(x, wt, Tensor(), 2, 1, 2); }) ==
        "conv_transpose2d: output_padding (2, 2) must be smaller than either stride (2, 2) or dilation (1, 1)");
  CHECK(error_of([&] {
          conv_transpose2d(x, zeros({3, 3, 3, 3}));
        }) == "conv_transpose2d: weight [3,3,3,3] expects 3 input channels, input [2,4,5,5] has 4");
  CHECK(error_of([&] { conv_transpose2d(x, wt, zeros({4}), 1, 0, 0, 2); }) ==
        "conv_transpose2d: bias [4] must have 6 entries (weight [4,3,3,3], groups=2)");
  CHECK(error_of([&] { conv_transpose2d(x, wt, Tensor(), 1, 0, 0, 3); }) ==
        "conv_transpose2d: input channels 4 (input [2,4,5,5]) not divisible by groups=3");
  CHECK(error_of([&] {
          conv_transpose2d(zeros({1, 4, 1, 1}), wt, Tensor(), 1, 2);
        }) ==
        "conv_transpose2d: output size -1x-1 is not positive (input [1,4,1,1], weight [4,3,3,3], stride (1, 1), "
        "padding (2, 2))");
}
