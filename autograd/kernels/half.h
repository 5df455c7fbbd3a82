// Half-precision storage formats and their conversions (docs/half.md draws the bits):
//   f16  = IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Max 65504, ulp(1) = 2^-10.
//   bf16 = bfloat16:          1 sign, 8 exponent (bias 127), 7 mantissa bits: the top half of an f32.
// Values are stored as uint16_t bit patterns; arithmetic upcasts to f32 (exactly) and rounds back.
//
// Every narrowing conversion rounds to nearest, ties to even, produces subnormals (no flush to zero),
// sends values too large for the format to +-inf and keeps inf. NaN policy, chosen to be bit-identical
// to the F16C instruction vcvtps2ph (checked exhaustively on hardware, see docs/half.md):
//   a NaN keeps its sign, gets the quiet bit set and keeps the top mantissa bits that fit:
//   f32 -> f16:  sign | 0x7E00 | (mant23 >> 13)        f32 -> bf16: sign | 0x7FC0 | (mant23 >> 16)
//   f64 -> f16:  sign | 0x7E00 | (mant52 >> 42)        f64 -> bf16: sign | 0x7FC0 | (mant52 >> 45)
//   f16 -> f32:  sign | 0x7FC00000 | (mant10 << 13)    (vcvtph2ps also quiets)
//   bf16 -> f32: b << 16, every bit kept (a signalling bf16 NaN stays signalling).
#pragma once
#include <bit>
#include <cstdint>

namespace dg::kernels {

namespace detail {

// NOTE [ One rounding routine for four conversions ]
// A binary float with E exponent bits and M mantissa bits encodes a non-negative value as
// (biased exponent << M) + mantissa, and that integer grows with the value, subnormals included.
// So narrowing src -> dst is: write the value as an integer count q of dst units at the dst exponent
// (rounding the dropped src bits to nearest even), then rebuild the bit pattern. The same code does
// f32->f16, f32->bf16, f64->f16 and f64->bf16; the template parameters are compile-time constants,
// so each instance compiles to straight-line integer code. Rounding happens once, directly from the
// source, so f64 -> f16 never double-rounds through f32.
template <class UInt, int SrcExp, int SrcMant, int DstExp, int DstMant>
constexpr uint16_t narrow_float(UInt bits) {
  static_assert(1 + DstExp + DstMant == 16 && SrcMant > DstMant && SrcExp >= DstExp);
  constexpr int kSrcBias = (1 << (SrcExp - 1)) - 1;
  constexpr int kDstBias = (1 << (DstExp - 1)) - 1;
  constexpr UInt kSrcMantMask = (UInt(1) << SrcMant) - 1;
  constexpr UInt kSrcInf = UInt((1 << SrcExp) - 1) << SrcMant;  // all-ones exponent, zero mantissa
  constexpr uint16_t kDstInf = uint16_t(((1 << DstExp) - 1) << DstMant);
  constexpr uint16_t kDstQuiet = uint16_t(1 << (DstMant - 1));  // top mantissa bit marks a quiet NaN

  const uint16_t sign = uint16_t((bits >> (SrcExp + SrcMant)) << 15);
  const UInt a = bits & (kSrcInf | kSrcMantMask);  // |x| as bits

  if (a > kSrcInf)  // NaN: quiet it, keep the sign and the top payload bits (the F16C rule)
    return uint16_t(sign | kDstInf | kDstQuiet | uint16_t((a & kSrcMantMask) >> (SrcMant - DstMant)));

  // |x| = m * 2^(e - SrcMant) with m the mantissa including its implicit leading 1.
  const int biased = int(a >> SrcMant);
  int e = biased - kSrcBias;
  UInt m = a & kSrcMantMask;
  if (biased == 0) e = 1 - kSrcBias;  // src subnormal (or zero): no implicit 1
  else m |= UInt(1) << SrcMant;

  if (e > kDstBias) return uint16_t(sign | kDstInf);  // >= 2^(emax+1), or inf: past every finite dst

  // dst subnormals share the exponent of the smallest normal, 1 - bias.
  const int dst_e = e < 1 - kDstBias ? 1 - kDstBias : e;
  // Units of the dst mantissa at dst_e are 2^(dst_e - DstMant); m counts units of 2^(e - SrcMant).
  const int shift = (SrcMant - DstMant) + (dst_e - e);
  // m < 2^(SrcMant+1), so with a bigger shift |x| is below half the smallest subnormal: rounds to 0.
  if (shift > SrcMant + 1) return sign;
  UInt q = m >> shift;
  const UInt rest = m & ((UInt(1) << shift) - 1);     // the dropped bits
  const UInt half = UInt(1) << (shift - 1);           // exactly half a dst unit
  if (rest > half || (rest == half && (q & 1))) ++q;  // nearest, ties to even

  // q includes the implicit 1 (worth 1 << DstMant) when normal, so the pattern is
  // ((dst_e + bias) << DstMant) + q - (1 << DstMant). That one formula also covers a subnormal that
  // rounds up into the smallest normal, a mantissa that carries into the next exponent, and the
  // largest finite value rounding up to exactly kDstInf (RNE overflow: f16 values >= 65520 -> inf).
  return uint16_t(sign | ((UInt(dst_e + kDstBias - 1) << DstMant) + q));
}

}  // namespace detail

// ---- scalar conversions (inline: they sit in hot loops) -----------------------------------------

// f32 -> f16, round to nearest even; |x| >= 65520 -> inf; NaN -> sign | 0x7E00 | mant >> 13.
inline uint16_t f32_to_f16(float x) { return detail::narrow_float<uint32_t, 8, 23, 5, 10>(std::bit_cast<uint32_t>(x)); }

// f32 -> bf16, round to nearest even; NaN -> sign | 0x7FC0 | mant >> 16.
inline uint16_t f32_to_bf16(float x) { return detail::narrow_float<uint32_t, 8, 23, 8, 7>(std::bit_cast<uint32_t>(x)); }

// f64 -> f16 rounded once, straight from the double (no double rounding through f32).
inline uint16_t f64_to_f16(double x) {
  return detail::narrow_float<uint64_t, 11, 52, 5, 10>(std::bit_cast<uint64_t>(x));
}

// f64 -> bf16 rounded once, straight from the double.
inline uint16_t f64_to_bf16(double x) {
  return detail::narrow_float<uint64_t, 11, 52, 8, 7>(std::bit_cast<uint64_t>(x));
}

// f16 -> f32, exact (every f16 value is an f32 value); NaN -> sign | 0x7FC00000 | mant << 13.
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F;
  const uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {  // inf, or NaN made quiet as vcvtph2ps does
    bits = mant == 0 ? 0x7F800000u : 0x7FC00000u | (mant << 13);
  } else if (exp != 0) {  // normal: rebias the exponent 15 -> 127, widen the mantissa 10 -> 23 bits
    bits = ((exp + 127 - 15) << 23) | (mant << 13);
  } else if (mant == 0) {  // +-0
    bits = 0;
  } else {  // subnormal mant * 2^-24: normal in f32. With the top set bit at position p (0..9),
            // mant * 2^-24 = 1.fraction * 2^(p - 24), the fraction being the bits below p.
    const int p = std::bit_width(mant) - 1;
    bits = (uint32_t(p - 24 + 127) << 23) | ((mant << (23 - p)) & 0x7FFFFF);
  }
  return std::bit_cast<float>(sign | bits);
}

// bf16 -> f32, exact: a bf16 is the top 16 bits of an f32.
inline float bf16_to_f32(uint16_t b) { return std::bit_cast<float>(uint32_t(b) << 16); }

// f16 -> f64 and bf16 -> f64, exact (through f32, which holds every value exactly).
inline double f16_to_f64(uint16_t h) { return double(f16_to_f32(h)); }
inline double bf16_to_f64(uint16_t b) { return double(bf16_to_f32(b)); }

// ---- arrays: src and dst hold n elements; pick the AVX-512 path when has_avx512() (bf16 narrowing:
// has_avx512_bf16()), else the AVX2/F16C path when has_avx2(), else the plain loop (cpu.h) ----------

void convert_f32_to_f16(const float* src, uint16_t* dst, int64_t n);   // dst[i] = f32_to_f16(src[i])
void convert_f16_to_f32(const uint16_t* src, float* dst, int64_t n);   // dst[i] = f16_to_f32(src[i])
void convert_f32_to_bf16(const float* src, uint16_t* dst, int64_t n);  // dst[i] = f32_to_bf16(src[i])
void convert_bf16_to_f32(const uint16_t* src, float* dst, int64_t n);  // dst[i] = bf16_to_f32(src[i])

// The plain-loop twins (half.cpp): the reference the fast paths are tested against.
void convert_f32_to_f16_ref(const float* src, uint16_t* dst, int64_t n);
void convert_f16_to_f32_ref(const uint16_t* src, float* dst, int64_t n);
void convert_f32_to_bf16_ref(const float* src, uint16_t* dst, int64_t n);
void convert_bf16_to_f32_ref(const uint16_t* src, float* dst, int64_t n);

// The AVX2/F16C versions (half_avx2.cpp). Call only when cpu_has_avx2(); bit-identical to the _ref.
void convert_f32_to_f16_avx2(const float* src, uint16_t* dst, int64_t n);
void convert_f16_to_f32_avx2(const uint16_t* src, float* dst, int64_t n);
void convert_f32_to_bf16_avx2(const float* src, uint16_t* dst, int64_t n);
void convert_bf16_to_f32_avx2(const uint16_t* src, float* dst, int64_t n);

// The AVX-512 versions (half_avx512.cpp), 16 lanes. Call only when cpu_has_avx512(); the bf16
// narrowing only when cpu_has_avx512_bf16() (vcvtneps2bf16 plus a fix-up of subnormal lanes, see
// NOTE [ vcvtneps2bf16 and subnormals ]). Bit-identical to the _ref.
void convert_f32_to_f16_avx512(const float* src, uint16_t* dst, int64_t n);
void convert_f16_to_f32_avx512(const uint16_t* src, float* dst, int64_t n);
void convert_f32_to_bf16_avx512bf16(const float* src, uint16_t* dst, int64_t n);
void convert_bf16_to_f32_avx512(const uint16_t* src, float* dst, int64_t n);

}  // namespace dg::kernels
