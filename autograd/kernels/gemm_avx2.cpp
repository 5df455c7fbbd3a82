// The AVX2/FMA micro-kernel of sgemm: one 6x16 tile of C per call.
// Compiled with -mavx2 -mfma; called only when isa() == Isa::avx2. Contract: see gemm.cpp.
//
// Register budget (16 ymm registers of 8 floats):
//   12 accumulators  acc[i][h]  = C[i, 8h : 8h+8],  i < 6, h < 2
//    2 for the current row of the B panel  b[0:8], b[8:16]
//    1 for the broadcast a[i]
// Per k step: 2 loads + 6 broadcasts feed 12 FMAs, so the two FMA pipes, not the loads, are the
// limit, and 12 independent accumulator chains hide the 4-cycle FMA latency.
#include <immintrin.h>

#include <cstdint>

namespace dg::kernels::detail {

namespace {

// C[0:8] <- acc + beta*C (beta == 0: acc, C not read), on the lanes selected by mask.
// Full rows use the same arithmetic with plain loads/stores, so a C element gets the same bits
// whether it falls in a full or an edge tile.
inline void update_full(float* c, __m256 acc, __m256 beta, bool beta_zero) {
  if (!beta_zero) acc = _mm256_fmadd_ps(beta, _mm256_loadu_ps(c), acc);
  _mm256_storeu_ps(c, acc);
}
inline void update_masked(float* c, __m256 acc, __m256 beta, bool beta_zero, __m256i mask) {
  if (!beta_zero) acc = _mm256_fmadd_ps(beta, _mm256_maskload_ps(c, mask), acc);
  _mm256_maskstore_ps(c, mask, acc);
}

// Lanes j with j < n (n may be <= 0 or >= 8).
inline __m256i lanes_below(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

}  // namespace

void sgemm_micro_6x16_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
                           float beta) {
  constexpr int MR = 6, NR = 16;
  // The C tile is touched only after the k loop: start fetching it now.
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }

  // cIH += a[k*6 + I] * b[k*16 + 8H : +8], k = 0, 1, ..., kc-1 in order. Named variables rather
  // than an array, so that the compiler keeps all twelve in registers.
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += MR;
    b += NR;
  }
  const __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};

  const __m256 vbeta = _mm256_set1_ps(beta);
  const bool beta_zero = beta == 0.0f;
  if (m == MR && n == NR) {
    for (int i = 0; i < MR; ++i) {
      update_full(c + i * ldc, acc[i][0], vbeta, beta_zero);
      update_full(c + i * ldc + 8, acc[i][1], vbeta, beta_zero);
    }
  } else {
    const __m256i mask0 = lanes_below(n), mask1 = lanes_below(n - 8);
    for (int i = 0; i < m; ++i) {
      update_masked(c + i * ldc, acc[i][0], vbeta, beta_zero, mask0);
      update_masked(c + i * ldc + 8, acc[i][1], vbeta, beta_zero, mask1);
    }
  }
}

}  // namespace dg::kernels::detail
