// AVX2/FMA versions of the depthwise per-plane kernels (contract: detail::DwPlane in depthwise.h).
// Compiled with -mavx2 -mfma; used only when isa() == Isa::avx2, for f32 and horizontal stride 1
// (the forward also for stride 2).
//
// Forward: 8 output columns per step stay in one register while all kh*kw taps are added
// (kh*kw FMAs, kh*kw unaligned loads, one store), instead of kh*kw passes over the output row.
// Weight gradient: one 8-lane accumulator per tap; the lanes are added in a fixed order at the end,
// so the result does not depend on how the caller's threads are arranged.
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "autograd/kernels/depthwise.h"

namespace dg::kernels::detail {

namespace {
// Lanes l < n set (n in 1..7): maskload reads 0 elsewhere and never touches that memory.
__m256i lanes_below(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
}  // namespace

void dw_plane_forward_avx2(const float* pad, const float* w, float bias, bool accumulate, const DwPlane& q,
                           float* out) {
  const int64_t taps = q.kh * q.kw;
  std::vector<int64_t> off((size_t)taps);  // where tap t reads, relative to the output position
  for (int64_t t = 0; t < taps; ++t) off[(size_t)t] = (t / q.kw) * q.dh * q.Wp + (t % q.kw) * q.dw;
  for (int64_t oh = 0; oh < q.Ho; ++oh) {
    const float* row0 = pad + oh * q.sh * q.Wp;
    float* o = out + oh * q.Wo;
    int64_t ow = 0;
    if (q.sw == 2) {  // columns 2*ow + off: load 16, keep the even 8 (the odd ones are never used)
      for (; ow + 8 <= q.Wo; ow += 8) {
        __m256 acc = accumulate ? _mm256_loadu_ps(o + ow) : _mm256_set1_ps(bias);
        for (int64_t t = 0; t < taps; ++t) {
          const float* src = row0 + off[(size_t)t] + 2 * ow;
          const __m256 lo = _mm256_loadu_ps(src), hi = _mm256_loadu_ps(src + 8);
          // [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6] -> [lo0 lo2 lo4 lo6 hi0 hi2 hi4 hi6]
          const __m256 even = _mm256_castpd_ps(
              _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0))), 0xD8));
          acc = _mm256_fmadd_ps(_mm256_set1_ps(w[t]), even, acc);
        }
        _mm256_storeu_ps(o + ow, acc);
      }
      for (; ow < q.Wo; ++ow) {  // the last Wo % 8 columns, same order of taps
        float acc = accumulate ? o[ow] : bias;
        for (int64_t t = 0; t < taps; ++t) acc = std::fma(w[t], row0[off[(size_t)t] + 2 * ow], acc);
        o[ow] = acc;
      }
      continue;
    }
    for (; ow + 8 <= q.Wo; ow += 8) {
      __m256 acc = accumulate ? _mm256_loadu_ps(o + ow) : _mm256_set1_ps(bias);
      for (int64_t t = 0; t < taps; ++t)
        acc = _mm256_fmadd_ps(_mm256_set1_ps(w[t]), _mm256_loadu_ps(row0 + off[(size_t)t] + ow), acc);
      _mm256_storeu_ps(o + ow, acc);
    }
    if (ow < q.Wo) {  // the last Wo % 8 columns: the same arithmetic on masked lanes
      const __m256i mask = lanes_below(q.Wo - ow);
      __m256 acc = accumulate ? _mm256_maskload_ps(o + ow, mask) : _mm256_set1_ps(bias);
      for (int64_t t = 0; t < taps; ++t)
        acc = _mm256_fmadd_ps(_mm256_set1_ps(w[t]), _mm256_maskload_ps(row0 + off[(size_t)t] + ow, mask), acc);
      _mm256_maskstore_ps(o + ow, mask, acc);
    }
  }
}

namespace {
// All TAPS taps in one pass over the plane: TAPS accumulators stay in registers (3x3: 9 of the 16),
// and each 8-wide piece of g is loaded once instead of once per tap.
template <int TAPS>
void weight_all_taps(const float* g, const float* pad, const DwPlane& q, float* taps_out) {
  int64_t off[TAPS];
  for (int t = 0; t < TAPS; ++t) off[t] = (t / q.kw) * q.dh * q.Wp + (t % q.kw) * q.dw;
  __m256 acc[TAPS];
  for (int t = 0; t < TAPS; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t oh = 0; oh < q.Ho; ++oh) {
    const float* gr = g + oh * q.Wo;
    const float* src = pad + oh * q.sh * q.Wp;
    int64_t ow = 0;
    for (; ow + 8 <= q.Wo; ow += 8) {
      const __m256 gv = _mm256_loadu_ps(gr + ow);
      for (int t = 0; t < TAPS; ++t) acc[t] = _mm256_fmadd_ps(gv, _mm256_loadu_ps(src + off[t] + ow), acc[t]);
    }
    if (ow < q.Wo) {
      const __m256i mask = lanes_below(q.Wo - ow);
      const __m256 gv = _mm256_maskload_ps(gr + ow, mask);
      for (int t = 0; t < TAPS; ++t) acc[t] = _mm256_fmadd_ps(gv, _mm256_maskload_ps(src + off[t] + ow, mask), acc[t]);
    }
  }
  for (int t = 0; t < TAPS; ++t) {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc[t]);
    float s = 0;
    for (float v : lanes) s += v;
    taps_out[t] = s;
  }
}
}  // namespace

void dw_plane_weight_avx2(const float* g, const float* pad, const DwPlane& q, float* taps_out) {
  if (q.kh * q.kw == 9) return weight_all_taps<9>(g, pad, q, taps_out);
  for (int64_t i = 0; i < q.kh; ++i)
    for (int64_t j = 0; j < q.kw; ++j) {
      __m256 acc = _mm256_setzero_ps();
      for (int64_t oh = 0; oh < q.Ho; ++oh) {
        const float* gr = g + oh * q.Wo;
        const float* src = pad + (oh * q.sh + i * q.dh) * q.Wp + j * q.dw;
        int64_t ow = 0;
        for (; ow + 8 <= q.Wo; ow += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(gr + ow), _mm256_loadu_ps(src + ow), acc);
        if (ow < q.Wo) {  // masked lanes read as 0
          const __m256i mask = lanes_below(q.Wo - ow);
          acc = _mm256_fmadd_ps(_mm256_maskload_ps(gr + ow, mask), _mm256_maskload_ps(src + ow, mask), acc);
        }
      }
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, acc);
      float s = 0;
      for (float v : lanes) s += v;
      taps_out[i * q.kw + j] = s;
    }
}

}  // namespace dg::kernels::detail
