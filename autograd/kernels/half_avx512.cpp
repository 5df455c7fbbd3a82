// AVX-512 array conversions between f32 and f16/bf16, 16 floats per step; the last n % 16 elements go
// through the scalar functions of half.h. Every function is bit-identical to its _ref twin in half.cpp
// (tests/kernels/test_half_avx512.cpp checks the neighbourhood of every one of the 65536 results).
// Compiled with -mavx512f/bw/dq/vl (CMake gives *_avx512.cpp files these flags); the bf16 narrowing
// also needs AVX512_BF16, enabled for that one function by a target attribute. Reached only through the
// dispatch in half.cpp or directly by tests that checked cpu_has_avx512() / cpu_has_avx512_bf16().
// GCC 12's AVX-512 headers seed some intrinsics with a self-initialised "undefined" vector, which
// -Wmaybe-uninitialized reports once they are inlined (GCC bug 105593, fixed in GCC 13): silence it.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "autograd/kernels/half.h"

namespace dg::kernels {

// The zmm form of vcvtps2ph: the same instruction as the F16C path, rounding mode in the immediate
// (not MXCSR), NaNs quieted with the top payload bits kept, subnormals produced, not flushed.
void convert_f32_to_f16_avx512(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), h);
  }
  for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

// vcvtph2ps is exact (subnormal halves become normal floats); it quiets NaNs as f16_to_f32 does.
void convert_f16_to_f32_avx512(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(h));
  }
  for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

// NOTE [ vcvtneps2bf16 and subnormals ]
// vcvtneps2bf16 (AVX512_BF16) rounds to nearest even and quiets NaNs exactly like f32_to_bf16
// (sign | 0x7FC0 | mant >> 16), and ignores MXCSR. But it always treats subnormal inputs as zero
// (DAZ, whatever MXCSR says): an f32 below 2^-126 whose correctly rounded bf16 is a bf16 subnormal
// (0x00008001 -> 0x0001) comes out as a signed zero. Checked over all 2^32 f32 patterns on the
// development machine (AMD EPYC, Zen 4): 16,711,678 differences, every one a subnormal input of that
// kind, none elsewhere, NaNs included; the same with MXCSR FTZ|DAZ set.
// So the lanes whose exponent field is zero (subnormals and zeros) are recomputed with the integer
// rule of the AVX2 path, (x + 0x7FFF + bit16(x)) >> 16, and blended in. For those lanes |x| < 2^-126,
// so the addition cannot reach the exponent's top or the sign, and no NaN is among them.
__attribute__((target("avx512bf16,avx512vl,avx512bw,avx512f"))) void
convert_f32_to_bf16_avx512bf16(const float* src, uint16_t* dst, int64_t n) {
  const __m512i exp_mask = _mm512_set1_epi32(0x7F800000);
  const __m512i bias = _mm512_set1_epi32(0x7FFF);
  const __m512i one = _mm512_set1_epi32(1);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(src + i);
    const __m512i x = _mm512_castps_si512(v);
    __m256i r;
    const __m256bh hw = _mm512_cvtneps_pbh(v);
    std::memcpy(&r, &hw, sizeof r);
    const __mmask16 tiny = _mm512_testn_epi32_mask(x, exp_mask);  // exponent field 0: subnormal or zero
    if (tiny) {
      const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(x, 16), one);
      const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(x, _mm512_add_epi32(bias, odd)), 16);
      r = _mm256_mask_blend_epi16(tiny, r, _mm512_cvtepi32_epi16(rounded));  // lanes < 2^16: vpmovdw keeps them
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), r);
  }
  for (; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

// bf16 -> f32: zero-extend each uint16 to 32 bits and shift it into the top half.
void convert_bf16_to_f32_avx512(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16)));
  }
  for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

}  // namespace dg::kernels
