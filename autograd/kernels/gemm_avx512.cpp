// The AVX-512 micro-kernels: sgemm's, one MR x 32 tile of floats per call (MR = 8 in the engine),
// and its f64 twin for dgemm, one 8 x 16 tile of doubles (same scheme, 8 lanes per register).
// Compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma; called only when
// isa() == Isa::avx512. Contract: see gemm.cpp ("micro-kernels").
//
// Register budget (32 zmm registers of 16 floats), for MR = 8:
//   16 accumulators  acc[i][h] = C[i, 16h : 16h+16],  i < 8, h < 2
//    2 for the current row of the B panel  b[0:16], b[16:32]
//    1 for the broadcast a[i]
// Per k step: 2 vector loads + 8 broadcasts feed 16 FMAs. Two FMA pipes with a latency of 4
// cycles need at least 8 independent chains; 16 cover it twice over.
//
// Why 8 rows and not the 14 that would fill the register file (28 accumulators): on large square
// GEMMs both reach the same ~235-240 GFLOP/s per core here, but on the conv GEMMs (M = 64..512
// output channels cut into blocks, N a few hundred columns) 8 wastes no rows on powers of two and
// measured 5-10% faster than 14x32 or 12x32, and faster than 8x48 and 6x64 (docs/gemm.md).
#include <immintrin.h>

#include <cstdint>

namespace dg::kernels::detail {

namespace {

// Lanes j with j < n of a 16-lane vector (n may be <= 0 or >= 16).
inline __mmask16 lanes_below(int n) {
  if (n <= 0) return 0;
  if (n >= 16) return 0xFFFF;
  return static_cast<__mmask16>((1u << n) - 1);
}

// C[0:16] <- acc + beta*C on the lanes of mask (beta == 0: acc, C not read). Full and edge tiles
// use the same arithmetic, so a C element gets the same bits wherever its tile falls.
inline void update(float* c, __m512 acc, __m512 beta, bool beta_zero, __mmask16 mask) {
  if (mask == 0xFFFF) {
    if (!beta_zero) acc = _mm512_fmadd_ps(beta, _mm512_loadu_ps(c), acc);
    _mm512_storeu_ps(c, acc);
  } else {
    if (!beta_zero) acc = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(mask, c), acc);
    _mm512_mask_storeu_ps(c, mask, acc);
  }
}

template <int MR>
inline void micro_mrx32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n, float beta) {
  constexpr int NR = 32;
  // The C tile is touched only after the k loop: start fetching it now (two cache lines a row).
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }

  // acc[i][h] += a[k*MR + i] * b[k*32 + 16h : +16], k = 0, 1, ..., kc-1 in order. The loops over
  // i and h are fully unrolled, so the array lives in registers.
  __m512 acc[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += MR;
    b += NR;
  }

  const __m512 vbeta = _mm512_set1_ps(beta);
  const bool beta_zero = beta == 0.0f;
  const __mmask16 mask0 = lanes_below(n), mask1 = lanes_below(n - 16);
  if (m == MR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      update(c + i * ldc, acc[i][0], vbeta, beta_zero, mask0);
      update(c + i * ldc + 16, acc[i][1], vbeta, beta_zero, mask1);
    }
  } else {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      if (i >= m) break;
      update(c + i * ldc, acc[i][0], vbeta, beta_zero, mask0);
      update(c + i * ldc + 16, acc[i][1], vbeta, beta_zero, mask1);
    }
  }
}

// The f64 twin of micro_mrx32: an MR x 16 tile of doubles, two zmm (8 lanes each) per row.
inline __mmask8 lanes_below8(int n) {
  if (n <= 0) return 0;
  if (n >= 8) return 0xFF;
  return static_cast<__mmask8>((1u << n) - 1);
}
inline void update(double* c, __m512d acc, __m512d beta, bool beta_zero, __mmask8 mask) {
  if (mask == 0xFF) {
    if (!beta_zero) acc = _mm512_fmadd_pd(beta, _mm512_loadu_pd(c), acc);
    _mm512_storeu_pd(c, acc);
  } else {
    if (!beta_zero) acc = _mm512_fmadd_pd(beta, _mm512_maskz_loadu_pd(mask, c), acc);
    _mm512_mask_storeu_pd(c, mask, acc);
  }
}

template <int MR>
inline void micro_mrx16_f64(int64_t kc, const double* a, const double* b, double* c, int64_t ldc, int m, int n,
                            double beta) {
  constexpr int NR = 16;
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }
  __m512d acc[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_pd();
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    const __m512d b0 = _mm512_load_pd(b), b1 = _mm512_load_pd(b + 8);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512d ai = _mm512_set1_pd(a[i]);
      acc[i][0] = _mm512_fmadd_pd(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_pd(ai, b1, acc[i][1]);
    }
    a += MR;
    b += NR;
  }
  const __m512d vbeta = _mm512_set1_pd(beta);
  const bool beta_zero = beta == 0.0;
  const __mmask8 mask0 = lanes_below8(n), mask1 = lanes_below8(n - 8);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    update(c + i * ldc, acc[i][0], vbeta, beta_zero, mask0);
    update(c + i * ldc + 8, acc[i][1], vbeta, beta_zero, mask1);
  }
}

}  // namespace

void dgemm_micro_8x16_avx512(int64_t kc, const double* a, const double* b, double* c, int64_t ldc, int m, int n,
                             double beta) {
  micro_mrx16_f64<8>(kc, a, b, c, ldc, m, n, beta);
}

void sgemm_micro_8x32_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
                             float beta) {
  micro_mrx32<8>(kc, a, b, c, ldc, m, n, beta);
}

}  // namespace dg::kernels::detail
