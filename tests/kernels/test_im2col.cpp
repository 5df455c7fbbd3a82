// im2col / col2im and the depthwise kernels against their *_ref twins (awkward geometries), the
// worked example of docs/conv.md verbatim, the adjoint identity <im2col x, y> = <x, col2im y>, and
// thread-count independence.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/kernels/cpu.h"
#include "autograd/kernels/depthwise.h"
#include "autograd/kernels/im2col.h"
#include "tests/support.h"

using namespace dg::kernels;

namespace {

// Uniform values in [-1, 1) from a fixed-seed LCG.
template <class T>
std::vector<T> random_values(int64_t count, uint64_t seed) {
  std::vector<T> v(static_cast<size_t>(count));
  uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 7;
  for (T& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<T>(static_cast<double>(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
  }
  return v;
}

// One geometry: input plane, kernel, stride, padding, dilation; Ho/Wo from conv_out_size.
struct Geo {
  int64_t H, W, kh, kw, sh, sw, ph, pw, dh, dw;
  ConvGeom make() const {
    ConvGeom g;
    g.H = H, g.W = W, g.kh = kh, g.kw = kw, g.sh = sh, g.sw = sw, g.ph = ph, g.pw = pw, g.dh = dh, g.dw = dw;
    g.Ho = conv_out_size(H, kh, sh, ph, dh);
    g.Wo = conv_out_size(W, kw, sw, pw, dw);
    return g;
  }
  std::string str() const {
    std::ostringstream os;
    os << "H=" << H << " W=" << W << " k=" << kh << "x" << kw << " s=" << sh << "," << sw << " p=" << ph << "," << pw
       << " d=" << dh << "," << dw;
    return os.str();
  }
};

// Odd sizes, stride 2/3, dilation 2, padding > 0 (also larger than the kernel's reach), non-square
// kernels, a kernel as large as the padded input, 1x1, rows long enough for full 8-wide vectors (stride 1
// and 2) plus a tail.
const std::vector<Geo> kGeos = {
    {4, 4, 3, 3, 1, 1, 1, 1, 1, 1},  {5, 7, 3, 3, 1, 1, 0, 0, 1, 1},  {7, 5, 3, 3, 2, 2, 1, 1, 1, 1},
    {9, 8, 3, 2, 3, 2, 1, 0, 1, 1},  {9, 9, 3, 3, 1, 1, 2, 2, 2, 2},  {6, 11, 2, 5, 2, 3, 1, 2, 2, 1},
    {5, 5, 1, 1, 1, 1, 0, 0, 1, 1},  {5, 6, 1, 1, 2, 2, 0, 0, 1, 1},  {3, 3, 5, 5, 1, 1, 2, 2, 1, 1},
    {1, 1, 3, 3, 1, 1, 1, 1, 1, 1},  {4, 4, 3, 3, 1, 1, 4, 3, 1, 1},  {8, 8, 7, 7, 2, 2, 3, 3, 1, 1},
    {5, 37, 3, 3, 2, 2, 1, 1, 1, 1}, {4, 40, 3, 3, 1, 2, 1, 2, 1, 2}, {3, 29, 1, 5, 1, 1, 0, 2, 1, 1},
};

}  // namespace

// The example drawn in docs/conv.md: a 4x4 image holding 1..16, a 3x3 kernel, padding 1, stride 1.
// Row (i, j) of cols is the image shifted by (i-1, j-1), read in output order, 0 where it falls
// into the padding.
TEST_CASE("im2col: the 4x4 example of docs/conv.md") {
  std::vector<float> x(16);
  for (int v = 0; v < 16; ++v) x[(size_t)v] = (float)(v + 1);
  const Geo geo{4, 4, 3, 3, 1, 1, 1, 1, 1, 1};
  const ConvGeom g = geo.make();
  REQUIRE(g.Ho == 4);
  REQUIRE(g.Wo == 4);
  std::vector<float> cols(9 * 16, -1.0f);
  im2col(x.data(), 1, g, cols.data(), 16);
  const float expected[9][16] = {
      {0, 0, 0, 0, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11},       // (i,j) = (0,0)
      {0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},      // (0,1)
      {0, 0, 0, 0, 2, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12, 0},      // (0,2)
      {0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15},    // (1,0)
      {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},  // (1,1): the image itself
      {2, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12, 0, 14, 15, 16, 0},   // (1,2)
      {0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 0, 0, 0},    // (2,0)
      {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0, 0, 0, 0},  // (2,1)
      {6, 7, 8, 0, 10, 11, 12, 0, 14, 15, 16, 0, 0, 0, 0, 0},   // (2,2)
  };
  for (int r = 0; r < 9; ++r)
    for (int p = 0; p < 16; ++p) {
      CAPTURE(r);
      CAPTURE(p);
      CHECK(cols[(size_t)(r * 16 + p)] == expected[r][p]);
    }

  // col2im of an all-ones column matrix counts how many (tap, position) pairs read each pixel:
  // the reason col2im must add, not overwrite.
  std::vector<float> ones(9 * 16, 1.0f), count(16, 0.0f);
  col2im(ones.data(), 16, 1, g, count.data());
  const float expected_count[16] = {4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4};
  for (int p = 0; p < 16; ++p) CHECK(count[(size_t)p] == expected_count[p]);
}

TEST_CASE("im2col: conv_out_size follows PyTorch") {
  CHECK(conv_out_size(224, 7, 2, 3, 1) == 112);  // ResNet stem
  CHECK(conv_out_size(56, 3, 1, 1, 1) == 56);
  CHECK(conv_out_size(7, 3, 2, 1, 1) == 4);
  CHECK(conv_out_size(9, 3, 1, 0, 2) == 5);
  CHECK(conv_out_size(8, 3, 3, 1, 1) == 3);   // floor(7/3) + 1
  CHECK(conv_out_size(2, 5, 1, 0, 1) == -2);  // kernel larger than the input: no output
}

TEST_CASE_TEMPLATE("im2col: fast equals ref exactly, col2im equals ref exactly", T, float, double) {
  for (const Geo& geo : kGeos) {
    CAPTURE(geo.str());
    const ConvGeom g = geo.make();
    REQUIRE(g.Ho > 0);
    REQUIRE(g.Wo > 0);
    const int64_t C = 3, K = C * g.kh * g.kw, P = g.P(), ld = P + 5;  // padded rows: must stay untouched
    const std::vector<T> x = random_values<T>(C * g.H * g.W, 1 + (uint64_t)g.H * 31 + (uint64_t)g.W);
    const T sentinel = T(123.25);
    std::vector<T> fast((size_t)(K * ld), sentinel), ref((size_t)(K * ld), sentinel);
    im2col(x.data(), C, g, fast.data(), ld);
    im2col_ref(x.data(), C, g, ref.data(), ld);
    CHECK(std::memcmp(fast.data(), ref.data(), fast.size() * sizeof(T)) == 0);
    for (int64_t r = 0; r < K; ++r)
      for (int64_t p = P; p < ld; ++p) CHECK(fast[(size_t)(r * ld + p)] == sentinel);

    // col2im accumulates onto a non-zero x in the same order as the ref: identical bits.
    const std::vector<T> cols = random_values<T>(K * ld, 99 + (uint64_t)K);
    std::vector<T> a = random_values<T>(C * g.H * g.W, 5), b = a;
    col2im(cols.data(), ld, C, g, a.data());
    col2im_ref(cols.data(), ld, C, g, b.data());
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
  }
}

// col2im is the transpose of im2col: <im2col(x), y> = <x, col2im(y)> for every x, y.
TEST_CASE("im2col: col2im is the adjoint of im2col") {
  for (const Geo& geo : kGeos) {
    CAPTURE(geo.str());
    const ConvGeom g = geo.make();
    const int64_t C = 2, K = C * g.kh * g.kw, P = g.P();
    const std::vector<double> x = random_values<double>(C * g.H * g.W, 3), y = random_values<double>(K * P, 4);
    std::vector<double> cols((size_t)(K * P)), back((size_t)(C * g.H * g.W), 0.0);
    im2col(x.data(), C, g, cols.data(), P);
    col2im(y.data(), P, C, g, back.data());
    double lhs = 0, rhs = 0, mag = 0;
    for (size_t i = 0; i < cols.size(); ++i) lhs += cols[i] * y[i], mag += std::abs(cols[i] * y[i]);
    for (size_t i = 0; i < x.size(); ++i) rhs += x[i] * back[i];
    CHECK(std::abs(lhs - rhs) <= 1e-13 * (1 + mag));
  }
}

TEST_CASE("im2col: the same bits for 1, 2 and 3 threads (large enough to run in parallel)") {
  const Geo geo{40, 37, 3, 3, 1, 1, 1, 1, 1, 1};
  const ConvGeom g = geo.make();
  const int64_t C = 24, K = C * 9, P = g.P();
  const std::vector<float> x = random_values<float>(C * g.H * g.W, 11), y = random_values<float>(K * P, 12);
  same_bits_for_threads([&] {
    std::vector<float> cols((size_t)(K * P)), back((size_t)(C * g.H * g.W), 0.0f);
    im2col(x.data(), C, g, cols.data(), P);
    col2im(y.data(), P, C, g, back.data());
    return std::vector<std::pair<std::string, dg::Tensor>>{{"im2col", as_tensor(cols, {K, P})},
                                                           {"col2im", as_tensor(back, {C, g.H, g.W})}};
  });
}

// ---- depthwise --------------------------------------------------------------------------------
TEST_CASE_TEMPLATE("depthwise: forward, input and weight gradients equal their ref twins", T, float, double) {
  const double tol = sizeof(T) == 4 ? 2e-5 : 1e-12;
  const Isa saved = isa();
  std::vector<Isa> isas = {Isa::scalar};
  if (cpu_has_avx2()) isas.push_back(Isa::avx2);      // the AVX2 plane kernels (f32, horizontal stride 1)
  if (cpu_has_avx512()) isas.push_back(Isa::avx512);  // must still take the AVX2 plane kernels
  for (Isa which : isas)
    for (const Geo& geo : kGeos)
      for (int64_t m : {1, 2})
        for (int64_t N : {1, 3}) {
          CAPTURE(geo.str());
          CAPTURE(m);
          CAPTURE(N);
          CAPTURE(isa_name());
          set_isa(which);
          const ConvGeom g = geo.make();
          const int64_t C = 3, P = g.P(), taps = g.kh * g.kw;
          const std::vector<T> x = random_values<T>(N * C * g.H * g.W, 21), w = random_values<T>(C * m * taps, 22),
                               b = random_values<T>(C * m, 23), gout = random_values<T>(N * C * m * P, 24);
          std::vector<T> out((size_t)(N * C * m * P)), out_ref(out.size());
          depthwise_forward(x.data(), w.data(), b.data(), N, C, m, g, out.data());
          depthwise_forward_ref(x.data(), w.data(), b.data(), N, C, m, g, out_ref.data());
          check_close(out, out_ref, tol, "out");  // the sums are formed in different orders
          depthwise_forward(x.data(), w.data(), (const T*)nullptr, N, C, m, g, out.data());  // no bias
          depthwise_forward_ref(x.data(), w.data(), (const T*)nullptr, N, C, m, g, out_ref.data());
          check_close(out, out_ref, tol, "out without bias");

          std::vector<T> dx(x.size(), T(7)), dx_ref(x.size(), T(-7));  // both overwrite
          depthwise_backward_input(gout.data(), w.data(), N, C, m, g, dx.data());
          depthwise_backward_input_ref(gout.data(), w.data(), N, C, m, g, dx_ref.data());
          check_close(dx, dx_ref, tol, "grad input");

          std::vector<T> dw(w.size(), T(7)), dw_ref(w.size(), T(-7));
          depthwise_backward_weight(gout.data(), x.data(), N, C, m, g, dw.data());
          depthwise_backward_weight_ref(gout.data(), x.data(), N, C, m, g, dw_ref.data());
          check_close(dw, dw_ref, tol * 10, "grad weight");
        }
  set_isa(saved);
}

// The depthwise kernels are the grouped direct convolution with groups == C.
TEST_CASE("depthwise: equals the general direct convolution with groups == C") {
  const ConvGeom g = Geo{7, 6, 3, 3, 2, 1, 1, 1, 1, 2}.make();
  const int64_t N = 2, C = 4, m = 2, O = C * m;
  const std::vector<double> x = random_values<double>(N * C * g.H * g.W, 31), w = random_values<double>(O * 9, 32),
                            b = random_values<double>(O, 33), gout = random_values<double>(N * O * g.P(), 34);
  std::vector<double> out((size_t)(N * O * g.P())), direct(out.size());
  depthwise_forward(x.data(), w.data(), b.data(), N, C, m, g, out.data());
  conv2d_direct_ref(x.data(), w.data(), b.data(), N, C, O, C, g, direct.data());
  check_close(out, direct, 1e-13, "out");
  std::vector<double> dx(x.size()), dx_d(x.size()), dw(w.size()), dw_d(w.size()), db_d((size_t)O);
  depthwise_backward_input(gout.data(), w.data(), N, C, m, g, dx.data());
  depthwise_backward_weight(gout.data(), x.data(), N, C, m, g, dw.data());
  conv2d_direct_backward_ref(gout.data(), x.data(), w.data(), N, C, O, C, g, dx_d.data(), dw_d.data(), db_d.data());
  check_close(dx, dx_d, 1e-13, "grad input");
  check_close(dw, dw_d, 1e-12, "grad weight");
}

TEST_CASE("depthwise: the same bits for 1, 2 and 3 threads") {
  const ConvGeom g = Geo{28, 28, 3, 3, 1, 1, 1, 1, 1, 1}.make();
  const int64_t N = 2, C = 32, m = 1;
  const std::vector<float> x = random_values<float>(N * C * g.H * g.W, 41), w = random_values<float>(C * 9, 42),
                           gout = random_values<float>(N * C * g.P(), 43);
  same_bits_for_threads([&] {
    std::vector<float> out((size_t)(N * C * g.P())), dx(x.size()), dw(w.size());
    depthwise_forward(x.data(), w.data(), (const float*)nullptr, N, C, m, g, out.data());
    depthwise_backward_input(gout.data(), w.data(), N, C, m, g, dx.data());
    depthwise_backward_weight(gout.data(), x.data(), N, C, m, g, dw.data());
    return std::vector<std::pair<std::string, dg::Tensor>>{{"out", as_tensor(out)},
                                                           {"grad input", as_tensor(dx)},
                                                           {"grad weight", as_tensor(dw)}};
  });
}

// A block (rows [r0, r1), columns [p0, p1)) is exactly that part of the full column matrix, and
// col2im over blocks that tile the matrix adds up to the full col2im (integer data: exact sums).
TEST_CASE("im2col: blocks are sub-matrices; col2im over blocks sums to the full col2im") {
  for (const Geo& geo : kGeos) {
    CAPTURE(geo.str());
    const ConvGeom g = geo.make();
    const int64_t C = 2, taps = g.kh * g.kw, K = C * taps, P = g.P();
    std::vector<double> x = random_values<double>(C * g.H * g.W, 61);
    for (double& v : x) v = std::round(v * 8);
    std::vector<double> full((size_t)(K * P));
    im2col_ref(x.data(), C, g, full.data(), P);
    const int64_t blocks[][4] = {{0, K, 0, P}, {1, K - 1, P / 3, P - P / 4}, {K / 2, K, 1, 2}, {0, 1, P - 1, P}};
    for (const auto& bl : blocks) {
      const int64_t r0 = bl[0], r1 = bl[1], p0 = std::min(bl[2], P - 1), p1 = std::max(std::min(bl[3], P), p0 + 1);
      if (r1 <= r0) continue;
      const int64_t ld = p1 - p0 + 3;
      std::vector<double> blk((size_t)((r1 - r0) * ld), 555.0);
      im2col_block(x.data(), g, r0, r1, p0, p1, blk.data(), ld);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t p = p0; p < p1; ++p) CHECK(blk[(size_t)((r - r0) * ld + p - p0)] == full[(size_t)(r * P + p)]);
    }
    // col2im: every channel's rows, the columns cut into three pieces
    std::vector<double> y = random_values<double>(K * P, 62);
    for (double& v : y) v = std::round(v * 8);
    std::vector<double> want((size_t)(C * g.H * g.W), 0.0), got(want.size(), 0.0);
    col2im_ref(y.data(), P, C, g, want.data());
    const int64_t cuts[] = {0, P / 3, (2 * P) / 3, P};
    for (int64_t c = 0; c < C; ++c)
      for (int q = 0; q < 3; ++q)
        col2im_block(y.data() + c * taps * P + cuts[q], P, g, c * taps, (c + 1) * taps, cuts[q], cuts[q + 1],
                     got.data());
    CHECK(got == want);
  }
}
