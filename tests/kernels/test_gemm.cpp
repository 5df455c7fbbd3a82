// sgemm / dgemm against the gemm_ref triple loop: awkward sizes, all transposes, alpha/beta, padded
// leading dimensions, every ISA path the CPU has (portable, AVX2 6x16, AVX-512 8x32); and
// bit-identical results for 1, 2 and 3 OpenMP threads.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "autograd/kernels/cpu.h"
#include "autograd/kernels/gemm.h"
#include "tests/support.h"

using namespace dg::kernels;

namespace {

// Uniform values in [-1, 1) from a fixed-seed LCG.
template <class T>
std::vector<T> random_values(int64_t count, uint64_t seed) {
  std::vector<T> v(static_cast<size_t>(count));
  uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (T& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<T>(static_cast<double>(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
  }
  return v;
}

// One GEMM problem. Leading dimensions are the stored width plus `pad`, so the kernels must not
// touch the padding (it holds NaN and is checked afterwards).
struct GemmCase {
  bool ta, tb;
  int64_t M, N, K;
  double alpha, beta;
  int64_t pad;
};

// Runs `fast` and gemm_ref<T> on the same case; checks every element of C against
//   |c - ref| <= rel * sum_k |alpha a_ik b_kj|  +  rel * |beta c0_ij|  +  tiny
// (summation-order differences are bounded by the sum of the magnitudes), and that the padding of
// C is untouched. beta == 0 cases start from a NaN-filled C, which must not leak through.
template <class T, class Fast>
void check_case(const GemmCase& g, Fast fast, double rel) {
  CAPTURE(g.ta);
  CAPTURE(g.tb);
  CAPTURE(g.M);
  CAPTURE(g.N);
  CAPTURE(g.K);
  CAPTURE(g.alpha);
  CAPTURE(g.beta);
  CAPTURE(g.pad);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const int64_t a_rows = g.ta ? g.K : g.M, a_cols = g.ta ? g.M : g.K;
  const int64_t b_rows = g.tb ? g.N : g.K, b_cols = g.tb ? g.K : g.N;
  const int64_t lda = a_cols + g.pad, ldb = b_cols + g.pad, ldc = g.N + g.pad;
  std::vector<T> A = random_values<T>(a_rows * lda, 1 + g.M), B = random_values<T>(b_rows * ldb, 2 + g.N);
  std::vector<T> C0 = random_values<T>(g.M * ldc, 3 + g.K);
  for (int64_t i = 0; i < g.M; ++i)
    for (int64_t j = 0; j < ldc; ++j)
      if (j >= g.N || g.beta == 0) C0[i * ldc + j] = nan;
  std::vector<T> C = C0, R = C0;

  fast(g.ta, g.tb, g.M, g.N, g.K, T(g.alpha), A.data(), lda, B.data(), ldb, T(g.beta), C.data(), ldc);
  gemm_ref<T>(g.ta, g.tb, g.M, g.N, g.K, T(g.alpha), A.data(), lda, B.data(), ldb, T(g.beta), R.data(), ldc);

  int64_t bad = 0, bad_i = -1, bad_j = -1;  // count, and where the first bad element is
  for (int64_t i = 0; i < g.M; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      const T c = C[i * ldc + j];
      if (j >= g.N) {  // padding: still NaN
        if (!std::isnan(c) && bad++ == 0) bad_i = i, bad_j = j;
        continue;
      }
      double mag = 0;
      for (int64_t k = 0; k < g.K; ++k) {
        const double a = g.ta ? A[k * lda + i] : A[i * lda + k];
        const double b = g.tb ? B[j * ldb + k] : B[k * ldb + j];
        mag += std::fabs(g.alpha * a * b);
      }
      if (g.beta != 0) mag += std::fabs(g.beta * C0[i * ldc + j]);
      const double err = std::fabs(double(c) - double(R[i * ldc + j]));
      if (!(err <= rel * mag + 1e-30) && bad++ == 0) bad_i = i, bad_j = j;  // !(<=) catches NaN
    }
  INFO("bad elements: ", bad, ", the first at i=", bad_i, " j=", bad_j,
       bad_i >= 0
           ? ": got " + std::to_string(C[bad_i * ldc + bad_j]) + ", reference " + std::to_string(R[bad_i * ldc + bad_j])
           : std::string());
  CHECK(bad == 0);
}

const int64_t kSizes[] = {1, 3, 7, 17, 31, 64, 127, 257, 513};

// Every transpose combination for a list of (M, N, K), with a rotating choice of alpha, beta and
// padding so that all of them meet every shape class without multiplying the run time.
template <class T, class Fast>
void check_shapes(Fast fast, double rel, bool big) {
  std::vector<std::array<int64_t, 3>> shapes;
  for (int64_t s : kSizes)
    if (big || s <= 257) shapes.push_back({s, s, s});
  const std::array<int64_t, 3> mixed[] = {
      {1, 513, 7},
      {257, 3, 127},
      {7, 1, 513},
      {513, 17, 1},
      {3, 257, 31},
      {31, 64, 257},
      {127, 7, 3},
      {64, 127, 17},
      {17, 31, 600},
      {6, 16, 256},
      {12, 32, 512},
      {100, 1, 1},
      // around the AVX-512 8x32 tile: exact multiples, one over, one under, masks in both halves
      {16, 32, 256},
      {9, 33, 257},
      {7, 31, 9},
      {28, 17, 40},
      {29, 48, 3},
      {43, 95, 70}};
  for (const auto& s : mixed) shapes.push_back(s);
  const double alphas[] = {1.0, -0.5, 2.0};
  const double betas[] = {0.0, 1.0, 0.75, 0.0, -1.5};
  int n = 0;
  for (const auto& s : shapes)
    for (int t = 0; t < 4; ++t, ++n)
      check_case<T>({bool(t & 1), bool(t & 2), s[0], s[1], s[2], alphas[n % 3], betas[n % 5], (n % 3) * 5}, fast, rel);
}

// The ISAs this CPU can run, portable first.
std::vector<Isa> available_isas() {
  std::vector<Isa> v = {Isa::scalar};
  if (cpu_has_avx2()) v.push_back(Isa::avx2);
  if (cpu_has_avx512()) v.push_back(Isa::avx512);
  return v;
}

// Forces one ISA for the life of the object and restores the previous one.
struct IsaGuard {
  Isa saved = isa();
  explicit IsaGuard(Isa v) { set_isa(v); }
  ~IsaGuard() { set_isa(saved); }
};

}  // namespace

TEST_CASE("gemm_ref: hand-computed 2x2 with transposes, alpha and beta") {
  // A = [1 2; 3 4], B = [5 6; 7 8], A@B = [19 22; 43 50], A^T@B = [26 30; 38 44].
  const double A[] = {1, 2, 3, 4}, B[] = {5, 6, 7, 8};
  double C[] = {1, 1, 1, 1};
  gemm_ref<double>(false, false, 2, 2, 2, 1.0, A, 2, B, 2, 0.0, C, 2);
  CHECK(C[0] == 19);
  CHECK(C[1] == 22);
  CHECK(C[2] == 43);
  CHECK(C[3] == 50);
  // C = 2 * A^T @ B - 1 * C = [52-19 60-22; 76-43 88-50]
  gemm_ref<double>(true, false, 2, 2, 2, 2.0, A, 2, B, 2, -1.0, C, 2);
  CHECK(C[0] == 33);
  CHECK(C[1] == 38);
  CHECK(C[2] == 33);
  CHECK(C[3] == 38);
}

TEST_CASE("gemm: sgemm matches gemm_ref, AVX2 path") {
  if (!cpu_has_avx2()) return;
  IsaGuard guard(Isa::avx2);
  check_shapes<float>(sgemm, 1e-5, true);
}

TEST_CASE("gemm: sgemm matches gemm_ref, AVX-512 path") {
  if (!cpu_has_avx512()) return;
  IsaGuard guard(Isa::avx512);
  check_shapes<float>(sgemm, 1e-5, true);
}

TEST_CASE("gemm: isa names, ordering and set_isa") {
  const Isa saved = isa();
  set_isa(Isa::scalar);
  CHECK(std::string(isa_name()) == "scalar");
  CHECK(!has_avx2());
  if (cpu_has_avx2()) {
    set_isa(Isa::avx2);
    CHECK(std::string(isa_name()) == "avx2");
    CHECK(has_avx2());
    CHECK(!has_avx512());
  }
  if (cpu_has_avx512()) {
    set_isa(Isa::avx512);
    CHECK(std::string(isa_name()) == "avx512");
    CHECK(has_avx2());  // AVX2-only kernels keep running at avx512
    CHECK(has_avx512());
  } else {
    CHECK_THROWS_WITH_AS(set_isa(Isa::avx512), doctest::Contains("AVX-512"), dg::Error);
  }
  set_isa(saved);
}

TEST_CASE("gemm: sgemm matches gemm_ref, portable path") {
  IsaGuard guard(Isa::scalar);
  check_shapes<float>(sgemm, 1e-5, true);
}

TEST_CASE("gemm: dgemm matches gemm_ref<double>, portable and AVX-512 paths") {
  for (Isa v : available_isas()) {
    if (v == Isa::avx2) continue;  // dgemm has no AVX2 kernel: the portable one runs
    IsaGuard guard(v);
    CAPTURE(isa_name());
    check_shapes<double>(dgemm, 1e-12, false);
  }
}

TEST_CASE("gemm: empty and degenerate sizes") {
  for (Isa v : available_isas()) {
    IsaGuard guard(v);
    CAPTURE(isa_name());
    float C[6] = {1, 2, 3, 4, 5, 6};
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float A[2] = {nan, nan}, B[2] = {nan, nan};
    sgemm(false, false, 0, 3, 4, 1.0f, A, 4, B, 3, 0.0f, C, 3);  // M == 0: nothing happens
    sgemm(false, false, 2, 0, 4, 1.0f, A, 4, B, 0, 0.0f, C, 3);  // N == 0: nothing happens
    CHECK(C[0] == 1);
    sgemm(false, false, 2, 3, 0, 1.0f, A, 1, B, 3, 2.0f, C, 3);  // K == 0: C = beta*C
    CHECK(C[0] == 2);
    CHECK(C[5] == 12);
    sgemm(false, false, 2, 3, 2, 0.0f, A, 2, B, 3, 0.5f, C, 3);  // alpha == 0: A, B not read
    CHECK(C[0] == 1);
    CHECK(C[5] == 6);
    sgemm(false, false, 2, 3, 0, 1.0f, A, 1, B, 3, 0.0f, C, 3);  // K == 0, beta == 0: zeros
    for (float c : C) CHECK(c == 0);
  }
}

TEST_CASE("gemm: bad leading dimensions throw dg::Error") {
  float A[16] = {}, B[16] = {}, C[16] = {};
  CHECK_THROWS(sgemm(false, false, 2, 2, 4, 1.0f, A, 3, B, 2, 0.0f, C, 2));  // lda < K
  CHECK_THROWS(sgemm(true, false, 4, 2, 2, 1.0f, A, 3, B, 2, 0.0f, C, 2));   // lda < M
  CHECK_THROWS(sgemm(false, true, 2, 4, 2, 1.0f, A, 2, B, 1, 0.0f, C, 4));   // ldb < K
  CHECK_THROWS(sgemm(false, false, 2, 4, 2, 1.0f, A, 2, B, 4, 0.0f, C, 3));  // ldc < N
}

// Big enough to run in parallel, with several row blocks (301 rows: shared out by row blocks) or
// few rows (10: shared out by column panels), several column panels and several k-blocks, so every
// thread count splits the work differently; the bits must not change (DESIGN.md: determinism for
// every thread count).
TEST_CASE("gemm: sgemm and dgemm are bit-identical for 1, 2 and 3 threads") {
  const int64_t shapes[][3] = {{301, 283, 613}, {10, 700, 300}};
  for (const auto& shape : shapes)
    for (int t = 0; t < 4; ++t) {
      const int64_t M = shape[0], N = shape[1], K = shape[2];
      const bool ta = t & 1, tb = t & 2;
      CAPTURE(M);
      CAPTURE(N);
      CAPTURE(K);
      CAPTURE(ta);
      CAPTURE(tb);
      const auto A = random_values<float>(M * K, 7), B = random_values<float>(K * N, 8);
      const auto Ad = random_values<double>(M * K, 7), Bd = random_values<double>(K * N, 8);
      for (Isa v : available_isas()) {
        IsaGuard guard(v);
        CAPTURE(isa_name());
        same_bits_for_threads([&] {
          std::vector<float> C = random_values<float>(M * N, 9);
          sgemm(ta, tb, M, N, K, 0.5f, A.data(), ta ? M : K, B.data(), tb ? K : N, 0.25f, C.data(), N);
          return as_tensor(C, {M, N});
        });
      }
      for (Isa v : available_isas()) {
        if (v == Isa::avx2) continue;  // same dgemm as scalar
        IsaGuard guard(v);
        CAPTURE(isa_name());
        same_bits_for_threads([&] {
          std::vector<double> C(M * N);
          dgemm(ta, tb, M, N, K, 1.0, Ad.data(), ta ? M : K, Bd.data(), tb ? K : N, 0.0, C.data(), N);
          return as_tensor(C, {M, N});
        });
      }
    }
}

// The AVX2 (6x16) and AVX-512 (8x32) kernels differ in tile shape only: both sum each C element in
// one register lane, in k order from zero with FMAs, over the same k-blocks (kc = 256), and apply
// beta and the later k-blocks with the same fma(beta, C, acc). So they give the same bits.
TEST_CASE("gemm: the AVX2 and AVX-512 paths give bit-identical results") {
  if (!cpu_has_avx512()) return;
  const int64_t shapes[][3] = {{37, 45, 600}, {10, 70, 3}, {129, 33, 257}};
  for (const auto& shape : shapes)
    for (int t = 0; t < 4; ++t) {
      const int64_t M = shape[0], N = shape[1], K = shape[2];
      const bool ta = t & 1, tb = t & 2;
      CAPTURE(M);
      CAPTURE(N);
      CAPTURE(K);
      CAPTURE(t);
      const auto A = random_values<float>(M * K, 11), B = random_values<float>(K * N, 12);
      const auto C0 = random_values<float>(M * N, 13);
      std::vector<float> C2 = C0, C5 = C0;
      {
        IsaGuard guard(Isa::avx2);
        sgemm(ta, tb, M, N, K, -0.75f, A.data(), ta ? M : K, B.data(), tb ? K : N, 0.5f, C2.data(), N);
      }
      {
        IsaGuard guard(Isa::avx512);
        sgemm(ta, tb, M, N, K, -0.75f, A.data(), ta ? M : K, B.data(), tb ? K : N, 0.5f, C5.data(), N);
      }
      CHECK(std::memcmp(C2.data(), C5.data(), C2.size() * sizeof(float)) == 0);
    }
}
