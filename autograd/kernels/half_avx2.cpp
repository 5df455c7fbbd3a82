// AVX2/F16C array conversions, 8 floats per step; the last n % 8 elements go through the scalar
// functions of half.h, which follow the same rounding and NaN rules bit for bit.
// Compiled with -mavx2 -mfma -mf16c (CMake gives *_avx2.cpp files these flags); reached only through
// the isa() dispatch in half.cpp or directly by tests that checked cpu_has_avx2().
#include <immintrin.h>

#include "autograd/kernels/half.h"

namespace dg::kernels {

// vcvtps2ph rounds with the mode in its immediate (bit 2 clear = use the immediate, not MXCSR), so
// the result does not depend on whatever rounding mode the program runs under. Its NaN rule
// (quiet bit set, top payload bits kept) is the one half.h copies.
void convert_f32_to_f16_avx2(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(src + i);
    const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

// vcvtph2ps is exact for every non-NaN input (subnormal halves become normal floats).
void convert_f16_to_f32_avx2(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

// f32 -> bf16 in integer arithmetic. Dropping the low 16 bits of x with round-to-nearest-even is
//   (x + 0x7FFF + bit16(x)) >> 16:
// the low half rounds up exactly when it is > 0x8000, or == 0x8000 and the kept part is odd (then
// bit16 = 1 pushes the sum over). A carry out of the mantissa bumps the exponent, which is right, and
// the largest finite values round up to exactly 0x7F80 = inf. Subnormals need no special case because
// the bit pattern grows with the value. Only NaN needs care (adding could turn it into inf or flip
// its sign), so NaN lanes take sign | 0x7FC0 | mant >> 16 instead.
// (vcvtneps2bf16 from AVX512_BF16 is not used: it flushes subnormal inputs and outputs to zero.)
void convert_f32_to_bf16_avx2(const float* src, uint16_t* dst, int64_t n) {
  const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF);
  const __m256i inf_bits = _mm256_set1_epi32(0x7F800000);
  const __m256i bias = _mm256_set1_epi32(0x7FFF);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i quiet = _mm256_set1_epi32(0x0040);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i x = _mm256_castps_si256(_mm256_loadu_ps(src + i));
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(x, 16), one);
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(bias, odd)), 16);
    // |x| > inf bits <=> NaN; both sides are below 2^31, so the signed compare is safe.
    const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, abs_mask), inf_bits);
    const __m256i nan = _mm256_or_si256(_mm256_srli_epi32(x, 16), quiet);
    const __m256i r = _mm256_blendv_epi8(rounded, nan, is_nan);
    // Each 32-bit lane now holds a value < 2^16: pack the two 128-bit halves into 8 uint16
    // (packus saturates at 65535, which no lane exceeds).
    const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), packed);
  }
  for (; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

// bf16 -> f32: zero-extend each uint16 to 32 bits and shift it into the top half.
void convert_bf16_to_f32_avx2(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m256i x = _mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16);
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(x));
  }
  for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

}  // namespace dg::kernels
