// `detgrad ref` with half precision (docs/ref.md, "Half precision"): f2 files as f16 inputs, bf16 inputs
// given as f4 plus input_dtype / NAME:bf16 (rounded, with a note), f32 grad_outs for half outputs, and
// --attr autocast=fp16. The references are computed here in f64 from the format's rounding rule: input
// values are chosen on grids where every f32 accumulation order is exact, so "round the exact result
// once" is what any correct f32-accumulating implementation must produce, bit for bit.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "autograd/io/tensor_npy.h"
#include "autograd/kernels/half.h"
#include "autograd/tensor.h"
#include "tests/support.h"

using namespace dg;

namespace {

struct RefRun {
  int status;
  std::string out;
};

RefRun run_ref_cli(const std::string& args) {
  RefRun r;
  r.status = run_detgrad("ref " + args, r.out);
  return r;
}

std::vector<uint16_t> half_bits(const Tensor& t) {
  REQUIRE(is_half(t.dtype()));
  const auto* p = static_cast<const uint16_t*>(t.raw());
  return std::vector<uint16_t>(p, p + t.numel());
}

}  // namespace

TEST_CASE("ref half: f16 matmul from f2 files equals round_f16(exact product), output and gradients") {
  const std::string d = fresh_temp_dir("ref_half", "matmul");
  // Values k/64 with |k| < 2048: exact in f16; products k1*k2/4096 and sums of 4 stay below 2^24 units,
  // so the f32 accumulation is exact in any order, and the f16 result is round(exact sum).
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> k(-2047, 2047);
  std::vector<double> av(12), bv(8);
  for (double& v : av) v = k(rng) / 64.0;
  for (double& v : bv) v = k(rng) / 64.0;
  const Tensor a = from_vector(av, {3, 4}, DType::f16), b = from_vector(bv, {4, 2}, DType::f16);
  io::save_npy(d + "/a.npy", a);
  io::save_npy(d + "/b.npy", b);
  const RefRun r = run_ref_cli("matmul --in input=" + d + "/a.npy --in other=" + d + "/b.npy --out " + d + "/out");
  REQUIRE_MESSAGE(r.status == 0, r.out);

  const Tensor out = io::load_npy(d + "/out/out.npy");
  CHECK(out.dtype() == DType::f16);
  REQUIRE(out.shape() == Shape{3, 2});
  std::vector<uint16_t> want;
  int rounded = 0;  // outputs whose exact value is not an f16: the comparison tests the rounding
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) {
      double s = 0;
      for (int q = 0; q < 4; ++q) s += av[size_t(i * 4 + q)] * bv[size_t(q * 2 + j)];
      want.push_back(kernels::f64_to_f16(s));
      rounded += kernels::f16_to_f64(want.back()) != s;
    }
  CHECK(half_bits(out) == want);
  CHECK(rounded > 0);

  // grad_out = ones: grad_input[i][q] = sum_j b[q][j], grad_other[q][j] = sum_i a[i][q], both f16.
  const Tensor ga = io::load_npy(d + "/out/grad_input.npy"), gb = io::load_npy(d + "/out/grad_other.npy");
  CHECK(ga.dtype() == DType::f16);
  CHECK(gb.dtype() == DType::f16);
  std::vector<uint16_t> want_ga, want_gb;
  for (int i = 0; i < 3; ++i)
    for (int q = 0; q < 4; ++q) want_ga.push_back(kernels::f64_to_f16(bv[size_t(q * 2)] + bv[size_t(q * 2 + 1)]));
  for (int q = 0; q < 4; ++q)
    for (int j = 0; j < 2; ++j)
      want_gb.push_back(kernels::f64_to_f16(av[size_t(q)] + av[size_t(4 + q)] + av[size_t(8 + q)]));
  CHECK(half_bits(ga) == want_ga);
  CHECK(half_bits(gb) == want_gb);
}

TEST_CASE("ref half: bf16 inputs from f4 files are rounded with a note; outputs and grads come back as f4") {
  const std::string d = fresh_temp_dir("ref_half", "bf16");
  // 1 + 2^-8 ties to 1 (even); 1 + 3*2^-8 ties to 1 + 2^-6; 0.1 and the f32 subnormal 1e-40 round; 0.5, -3
  // and 6 are bf16 values already: 4 of 7 change.
  const std::vector<float> xs = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 0.1f, 1e-40f, 0.5f, -3.0f, 6.0f};
  std::vector<double> xv(xs.begin(), xs.end());
  io::save_npy(d + "/x.npy", from_vector(xv, {7}, DType::f32));

  SUBCASE("per-input suffix NAME:bf16") {
    const RefRun r = run_ref_cli("neg --in input:bf16=" + d + "/x.npy --out " + d + "/neg");
    REQUIRE_MESSAGE(r.status == 0, r.out);
    CHECK_MESSAGE(r.out.find("input 'input' cast f32 -> bf16: 4 of 7 values changed") != std::string::npos, r.out);
    const Tensor out = io::load_npy(d + "/neg/out.npy"), g = io::load_npy(d + "/neg/grad_input.npy");
    CHECK(out.dtype() == DType::f32);  // bf16 is written as f4 (exact widening)
    CHECK(g.dtype() == DType::f32);
    for (size_t k = 0; k < xs.size(); ++k) {
      CAPTURE(k);
      CHECK(std::bit_cast<uint32_t>(out.data<float>()[k]) ==
            std::bit_cast<uint32_t>(-kernels::bf16_to_f32(kernels::f32_to_bf16(xs[k]))));
      CHECK(g.data<float>()[k] == -1.0f);
    }
  }
  SUBCASE("input_dtype=bf16 for every input, and an f4 grad_out rounded to the bf16 output") {
    std::vector<double> yv = {3.0, 1.0 + 0x1p-7, -0.75, 1e30, 2.0, 0.3, 1.0};
    io::save_npy(d + "/y.npy", from_vector(yv, {7}, DType::f32));
    io::save_npy(d + "/g.npy", from_vector(std::vector<double>(7, 1.0 + 0x1p-9), {7}, DType::f32));  // rounds to 1
    const RefRun r = run_ref_cli("mul --in input=" + d + "/x.npy --in other=" + d +
                                 "/y.npy --attr input_dtype=bf16 --grad-out " + d + "/g.npy --out " + d + "/mul");
    REQUIRE_MESSAGE(r.status == 0, r.out);
    CHECK_MESSAGE(r.out.find("input 'other' cast f32 -> bf16: 2 of 7 values changed") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("grad_out 0 rounded to bf16: 7 of 7 values changed") != std::string::npos, r.out);
    const Tensor out = io::load_npy(d + "/mul/out.npy"), gx = io::load_npy(d + "/mul/grad_input.npy");
    for (size_t k = 0; k < xs.size(); ++k) {
      CAPTURE(k);
      // bf16 * bf16 has at most 16 significant bits: exact in f32, then rounded once to bf16.
      const float xr = kernels::bf16_to_f32(kernels::f32_to_bf16(xs[k]));
      const float yr = kernels::bf16_to_f32(kernels::f32_to_bf16(float(yv[k])));
      CHECK(out.data<float>()[k] == kernels::bf16_to_f32(kernels::f32_to_bf16(xr * yr)));
      CHECK(gx.data<float>()[k] == yr);  // d(x*y)/dx * grad_out = y * 1
    }
  }
}

TEST_CASE("ref half: autocast=fp16 conv2d gives an f16 output equal to round_f16(conv of f16-rounded inputs)") {
  const std::string d = fresh_temp_dir("ref_half", "autocast_conv");
  // f32 inputs slightly off an f16 grid (x = k/8, w = j/16, b = m/128 plus less than half an f16 ulp),
  // so autocast must round them; on the grid every f32 sum below is exact (|sum| < 2^9 in units of
  // 2^-7), and the f16 output is the exact sum rounded once (often needed: sums above 16 have more
  // than 11 significant bits).
  std::mt19937 rng(5);
  auto odd = [&](int hi) { return 2 * std::uniform_int_distribution<int>(-hi, hi - 1)(rng) + 1; };
  auto wiggle = [&](double ulp) { return ulp * std::uniform_real_distribution<double>(0.1, 0.4)(rng); };
  const int N = 2, C = 3, H = 5, W = 5, O = 4;
  std::vector<double> xg(N * C * H * W), wg(O * C * 9), bg(O), x, w, b;
  for (double& v : xg) v = odd(32) / 8.0;     // odd k in [-63, 63]
  for (double& v : wg) v = odd(16) / 16.0;    // odd j in [-31, 31]
  for (double& v : bg) v = odd(128) / 128.0;  // odd m in [-255, 255]
  for (double v : xg) x.push_back(v + std::copysign(wiggle(0x1p-16), v));
  for (double v : wg) w.push_back(v + std::copysign(wiggle(0x1p-18), v));
  for (double v : bg) b.push_back(v + std::copysign(wiggle(0x1p-21), v));
  for (size_t k = 0; k < x.size(); ++k) REQUIRE(kernels::f64_to_f16(x[k]) == kernels::f64_to_f16(xg[k]));
  io::save_npy(d + "/x.npy", from_vector(x, {N, C, H, W}, DType::f32));
  io::save_npy(d + "/w.npy", from_vector(w, {O, C, 3, 3}, DType::f32));
  io::save_npy(d + "/b.npy", from_vector(b, {O}, DType::f32));
  const RefRun r = run_ref_cli("conv2d --in input=" + d + "/x.npy --in weight=" + d + "/w.npy --in bias=" + d +
                               "/b.npy --attr padding=1 --attr autocast=fp16 --out " + d + "/out");
  REQUIRE_MESSAGE(r.status == 0, r.out);

  const Tensor out = io::load_npy(d + "/out/out.npy");
  CHECK(out.dtype() == DType::f16);
  REQUIRE(out.shape() == Shape{N, O, H, W});
  std::vector<uint16_t> want;
  int rounded = 0;
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < O; ++o)
      for (int i = 0; i < H; ++i)
        for (int j = 0; j < W; ++j) {
          double s = bg[size_t(o)];
          for (int c = 0; c < C; ++c)
            for (int di = 0; di < 3; ++di)
              for (int dj = 0; dj < 3; ++dj) {
                const int y = i + di - 1, xx = j + dj - 1;
                if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
                s += xg[size_t(((n * C + c) * H + y) * W + xx)] * wg[size_t(((o * C + c) * 3 + di) * 3 + dj)];
              }
          want.push_back(kernels::f64_to_f16(s));
          rounded += kernels::f16_to_f64(want.back()) != s;
        }
  CHECK(half_bits(out) == want);
  CHECK(rounded > 10);

  // The gradients reach the f32 inputs through the casts: f32 files; grad_bias = sum of ones = N*H*W.
  const Tensor gx = io::load_npy(d + "/out/grad_input.npy"), gw = io::load_npy(d + "/out/grad_weight.npy");
  const Tensor gb = io::load_npy(d + "/out/grad_bias.npy");
  CHECK(gx.dtype() == DType::f32);
  CHECK(gw.dtype() == DType::f32);
  REQUIRE(gb.dtype() == DType::f32);
  for (int o = 0; o < O; ++o) CHECK(gb.data<float>()[o] == float(N * H * W));

  // Without autocast the same files run in f32: an f32 output.
  const RefRun plain = run_ref_cli("conv2d --in input=" + d + "/x.npy --in weight=" + d + "/w.npy --in bias=" + d +
                                   "/b.npy --attr padding=1 --out " + d + "/plain");
  REQUIRE_MESSAGE(plain.status == 0, plain.out);
  CHECK(io::load_npy(d + "/plain/out.npy").dtype() == DType::f32);
}

TEST_CASE("ref half: autocast=bf16 matmul of f32 files gives round_bf16(exact product), written as f4") {
  const std::string d = fresh_temp_dir("ref_half", "autocast_bf16");
  // a = k/16 with 8-bit odd k plus less than half a bf16 ulp: autocast rounds it back to k/16; products
  // k1*k2/256 and sums of 4 are exact in f32, and most sums need rounding to bf16's 8 bits.
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> k(-127, 127);
  std::vector<double> ag(8), bg(8), a, b;
  for (double& v : ag) v = (2 * k(rng) + 1) / 16.0;
  for (double& v : bg) v = (2 * k(rng) + 1) / 16.0;
  for (double v : ag) a.push_back(v + std::copysign(0x1p-14, v));  // below half an ulp (>= 2^-12 here)
  for (double v : bg) b.push_back(v - std::copysign(0x1p-14, v));
  io::save_npy(d + "/a.npy", from_vector(a, {2, 4}, DType::f32));
  io::save_npy(d + "/b.npy", from_vector(b, {4, 2}, DType::f32));
  const RefRun r = run_ref_cli("matmul --in input=" + d + "/a.npy --in other=" + d +
                               "/b.npy --attr autocast=bf16 --out " + d + "/out");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  const Tensor out = io::load_npy(d + "/out/out.npy");
  REQUIRE(out.dtype() == DType::f32);  // bf16 written as f4
  int rounded = 0;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      double s = 0;
      for (int q = 0; q < 4; ++q) s += ag[size_t(i * 4 + q)] * bg[size_t(q * 2 + j)];
      const float want = kernels::bf16_to_f32(kernels::f64_to_bf16(s));
      rounded += double(want) != s;
      CAPTURE(i);
      CAPTURE(j);
      CHECK(std::bit_cast<uint32_t>(out.data<float>()[i * 2 + j]) == std::bit_cast<uint32_t>(want));
    }
  CHECK(rounded > 0);
}

TEST_CASE("ref half: bad dtype names and casts of integer inputs are errors naming the input") {
  const std::string d = fresh_temp_dir("ref_half", "errors");
  io::save_npy(d + "/x.npy", from_vector({1, 2, 3}, {3}, DType::f32));
  io::save_npy(d + "/i.npy", from_vector({0, 2}, {2}, DType::i64));
  RefRun r = run_ref_cli("neg --in input:int8=" + d + "/x.npy --out " + d + "/o1");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.out.find("'int8' is not a floating dtype") != std::string::npos, r.out);
  r = run_ref_cli("neg --in input=" + d + "/x.npy --attr input_dtype=f8 --out " + d + "/o2");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.out.find("input_dtype 'f8' is not a floating dtype") != std::string::npos, r.out);
  r = run_ref_cli("index_select --in input=" + d + "/x.npy --in index:bf16=" + d + "/i.npy --attr dim=0 --out " + d +
                  "/o3");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.out.find("input 'index' is i64 and cannot be cast to bf16") != std::string::npos, r.out);
  r = run_ref_cli("neg --in input=" + d + "/x.npy --attr autocast=fp8 --out " + d + "/o4");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.out.find("fp8") != std::string::npos, r.out);
  // input_dtype leaves non-floating inputs alone: where with a bool condition and bf16 values runs.
  io::save_npy(d + "/c.npy", from_vector({1, 0, 1}, {3}, DType::b8));
  r = run_ref_cli("where --in condition=" + d + "/c.npy --in input=" + d + "/x.npy --in other=" + d +
                  "/x.npy --attr input_dtype=bf16 --out " + d + "/o5");
  CHECK_MESSAGE(r.status == 0, r.out);
  CHECK_MESSAGE(r.out.find("input 'condition'") == std::string::npos, r.out);
}
