// f16 / bf16 conversions (autograd/kernels/half.h) checked against references built differently:
// decoding with ldexp from the format's definition, and rounding by searching a sorted table of every
// finite value and comparing with the exact midpoint. Exhaustive over all 65536 half patterns; the
// AVX2/F16C array paths are checked bit for bit against the scalar loops.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "autograd/kernels/cpu.h"
#include "autograd/kernels/half.h"

using namespace dg::kernels;

namespace {

// A 16-bit float format: E exponent bits, M mantissa bits (f16: 5, 10; bf16: 8, 7).
struct Format {
  const char* name;
  int E, M;
  int bias() const { return (1 << (E - 1)) - 1; }
  uint16_t inf() const { return uint16_t(((1 << E) - 1) << M); }
  uint16_t max_finite() const { return uint16_t(inf() - 1); }
};
const Format kF16{"f16", 5, 10};
const Format kBF16{"bf16", 8, 7};

bool is_nan_bits(uint16_t b, const Format& f) { return (b & 0x7FFF) > f.inf(); }

// The format's definition read literally: (-1)^s * 2^(e - bias) * (1 + m / 2^M) for normals,
// (-1)^s * 2^(1 - bias) * (m / 2^M) for subnormals. Exact in double.
double ref_decode(uint16_t b, const Format& f) {
  const int s = b >> 15, e = (b >> f.M) & ((1 << f.E) - 1), m = b & ((1 << f.M) - 1);
  double v;
  if (e == (1 << f.E) - 1) v = m == 0 ? std::numeric_limits<double>::infinity() : std::nan("");
  else if (e == 0) v = std::ldexp(double(m), 1 - f.bias() - f.M);
  else v = std::ldexp(double(m + (1 << f.M)), e - f.bias() - f.M);
  return s ? -v : v;
}

// Every non-negative finite value of the format in increasing order (index == bit pattern), followed by
// 2^(emax+1): the value the next pattern, +inf, would have if the exponent did not run out. IEEE
// rounding treats overflow exactly that way, so the midpoint rule below covers it too.
std::vector<double> value_table(const Format& f) {
  std::vector<double> t;
  for (uint32_t k = 0; k <= f.max_finite(); ++k) t.push_back(ref_decode(uint16_t(k), f));
  t.push_back(std::ldexp(1.0, f.bias() + 1));
  return t;
}

// Round a non-NaN double to the format by table search: find t[k] <= |x| < t[k+1], compare with the
// midpoint (t[k] + t[k+1]) / 2, which is exact in double (both have at most 11 significant bits and
// the same or adjacent exponents), ties to the even pattern.
uint16_t ref_round(double x, const Format& f, const std::vector<double>& t) {
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const double a = std::fabs(x);
  if (a >= t.back()) return sign | f.inf();
  const size_t k = size_t(std::upper_bound(t.begin(), t.end(), a) - t.begin()) - 1;
  if (t[k] == a) return uint16_t(sign | k);
  const double mid = (t[k] + t[k + 1]) / 2;
  size_t r;
  if (a < mid) r = k;
  else if (a > mid) r = k + 1;
  else r = (k % 2 == 0) ? k : k + 1;
  return uint16_t(sign | r);  // r == max_finite + 1 is the inf pattern
}

uint32_t bits_of(float x) { return std::bit_cast<uint32_t>(x); }
float float_of(uint32_t u) { return std::bit_cast<float>(u); }

uint16_t to_half(float x, const Format& f) { return f.E == 5 ? f32_to_f16(x) : f32_to_bf16(x); }
float from_half(uint16_t b, const Format& f) { return f.E == 5 ? f16_to_f32(b) : bf16_to_f32(b); }
uint16_t to_half64(double x, const Format& f) { return f.E == 5 ? f64_to_f16(x) : f64_to_bf16(x); }

// The documented NaN rule for f32 -> half: sign | inf | quiet bit | top M bits of the mantissa.
uint16_t nan_rule(uint32_t x, const Format& f) {
  return uint16_t(((x >> 16) & 0x8000) | f.inf() | (1 << (f.M - 1)) | ((x & 0x7FFFFF) >> (23 - f.M)));
}

// Every 16-bit pattern decodes to the ldexp reference, and encoding the result gives the pattern back.
void check_all_patterns(const Format& f) {
  for (uint32_t k = 0; k < 65536; ++k) {
    const uint16_t b = uint16_t(k);
    const float x = from_half(b, f);
    const uint32_t xb = bits_of(x);
    if (is_nan_bits(b, f)) {
      // f16 -> f32 quiets (like vcvtph2ps); bf16 -> f32 is a plain shift that keeps every bit.
      const uint32_t want = f.E == 5 ? (uint32_t(b & 0x8000) << 16) | 0x7FC00000u | (uint32_t(b & 0x3FF) << 13)
                                     : uint32_t(b) << 16;
      CHECK_MESSAGE(xb == want, f.name, " NaN pattern ", b);
      // Back to half: still NaN, sign kept, now quiet.
      CHECK_MESSAGE(to_half(x, f) == uint16_t(b | (1 << (f.M - 1))), f.name, " NaN pattern ", b);
    } else {
      const double ref = ref_decode(b, f);
      // Compare bits, not values, so -0 vs +0 counts.
      CHECK_MESSAGE(xb == bits_of(float(ref)), f.name, " pattern ", b);
      CHECK_MESSAGE(to_half(x, f) == b, f.name, " pattern ", b);
      CHECK_MESSAGE(std::bit_cast<uint64_t>(f.E == 5 ? f16_to_f64(b) : bf16_to_f64(b)) == std::bit_cast<uint64_t>(ref),
                    f.name, " pattern ", b);
      CHECK_MESSAGE(to_half64(ref, f) == b, f.name, " pattern ", b);
    }
  }
}

// For each pair of adjacent finite values lo < hi (both signs, including the pair max_finite / "2^(emax+1)"
// that decides overflow): the exact midpoint goes to the even pattern, one f32 ulp either side to
// the nearer one. The midpoint needs at most M + 2 significant bits, so it is exact in f32.
void check_midpoints_f32(const Format& f) {
  const std::vector<double> t = value_table(f);
  int failures = 0;
  for (uint32_t k = 0; k + 1 < t.size() && failures < 10; ++k) {
    for (uint16_t sign : {uint16_t(0), uint16_t(0x8000)}) {
      const float s = sign ? -1.0f : 1.0f;
      const float mid = s * float((t[k] + t[k + 1]) / 2);
      REQUIRE(double(mid) == double(s) * (t[k] + t[k + 1]) / 2);  // exact
      const uint16_t lo = uint16_t(sign | k), hi = uint16_t(sign | (k + 1));
      const uint16_t even = (k % 2 == 0) ? lo : hi;
      const float toward_lo = std::nextafter(mid, s * 0.0f);
      const float toward_hi = std::nextafter(mid, s * std::numeric_limits<float>::infinity());
      const bool ok = to_half(mid, f) == even && to_half(toward_lo, f) == lo && to_half(toward_hi, f) == hi;
      if (!ok) ++failures;
      CHECK_MESSAGE(ok, f.name, " midpoint between patterns ", lo, " and ", hi, " (", double(mid), ")");
    }
  }
}

// Same battery from f64, where one double ulp away from the midpoint is far finer than an f32 ulp:
// a conversion that went through f32 would round mid + 1 ulp to mid and then tie to even (wrong).
void check_midpoints_f64(const Format& f) {
  const std::vector<double> t = value_table(f);
  int failures = 0;
  for (uint32_t k = 0; k + 1 < t.size() && failures < 10; ++k) {
    for (double s : {1.0, -1.0}) {
      const uint16_t sign = s < 0 ? 0x8000 : 0;
      const double mid = s * (t[k] + t[k + 1]) / 2;
      const uint16_t lo = uint16_t(sign | k), hi = uint16_t(sign | (k + 1));
      const uint16_t even = (k % 2 == 0) ? lo : hi;
      const double toward_lo = std::nextafter(mid, s * 0.0);
      const double toward_hi = std::nextafter(mid, s * std::numeric_limits<double>::infinity());
      const bool ok = to_half64(mid, f) == even && to_half64(toward_lo, f) == lo && to_half64(toward_hi, f) == hi;
      if (!ok) ++failures;
      CHECK_MESSAGE(ok, f.name, " f64 midpoint between patterns ", lo, " and ", hi, " (", mid, ")");
    }
  }
}

// A small deterministic generator (splitmix64) so the sweeps are the same on every run.
struct SplitMix {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

}  // namespace

TEST_CASE("half f16: all 65536 patterns decode exactly and round-trip") { check_all_patterns(kF16); }

TEST_CASE("half bf16: all 65536 patterns decode exactly and round-trip") { check_all_patterns(kBF16); }

TEST_CASE("half f16: every midpoint ties to even, +-1 ulp rounds to nearer") { check_midpoints_f32(kF16); }

TEST_CASE("half bf16: every midpoint ties to even, +-1 ulp rounds to nearer") { check_midpoints_f32(kBF16); }

TEST_CASE("half f16: worked numbers, overflow and subnormal edges") {
  // ulp(1) = 2^-10. 1 + 2^-11 is halfway between 1 (mantissa 0, even) and 1 + 2^-10 (odd): -> 1.
  CHECK(f32_to_f16(1.0f + 0x1p-11f) == 0x3C00);
  // 1 + 3*2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even): -> 1 + 2^-9.
  CHECK(f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3C02);
  CHECK(f32_to_f16(1.0f + 0x1p-11f + 0x1p-23f) == 0x3C01);  // just above the midpoint
  CHECK(f32_to_f16(0.1f) == 0x2E66);                        // 0.0999755859375
  CHECK(f32_to_f16(-2.0f) == 0xC000);
  CHECK(f32_to_f16(-0.0f) == 0x8000);
  // Overflow: 65504 is the largest f16; the midpoint to the next (virtual) value 65536 is 65520.
  CHECK(f32_to_f16(65504.0f) == 0x7BFF);
  CHECK(f32_to_f16(65519.996f) == 0x7BFF);  // the float just below 65520
  CHECK(f32_to_f16(65520.0f) == 0x7C00);
  CHECK(f32_to_f16(-65520.0f) == 0xFC00);
  CHECK(f32_to_f16(1e10f) == 0x7C00);
  CHECK(f32_to_f16(std::numeric_limits<float>::infinity()) == 0x7C00);
  CHECK(f32_to_f16(-std::numeric_limits<float>::infinity()) == 0xFC00);
  // Subnormals: the smallest is 2^-24; half of it is a tie between 0 (even) and 2^-24 (odd) -> 0.
  CHECK(f32_to_f16(0x1p-24f) == 0x0001);
  CHECK(f32_to_f16(0x1p-25f) == 0x0000);
  CHECK(f32_to_f16(-0x1p-25f) == 0x8000);
  CHECK(f32_to_f16(std::nextafter(0x1p-25f, 1.0f)) == 0x0001);
  CHECK(f32_to_f16(1.5f * 0x1p-24f) == 0x0002);      // tie between 1 and 2 units -> 2 (even)
  CHECK(f32_to_f16(0x1p-14f - 0x1p-25f) == 0x0400);  // tie at the top of the subnormals -> smallest normal
  CHECK(f32_to_f16(0x1p-14f) == 0x0400);
  CHECK(f16_to_f32(0x0001) == 0x1p-24f);
  CHECK(f16_to_f32(0x03FF) == 1023 * 0x1p-24f);
  // f32 subnormal inputs are far below 2^-25: they round to a signed zero.
  CHECK(f32_to_f16(std::numeric_limits<float>::denorm_min()) == 0x0000);
  CHECK(f32_to_f16(-std::numeric_limits<float>::denorm_min()) == 0x8000);
  CHECK(f32_to_f16(float_of(0x007FFFFF)) == 0x0000);
}

TEST_CASE("half bf16: worked numbers, overflow and subnormal edges") {
  // ulp(1) = 2^-7. 1 + 2^-8 ties to 1; 1 + 3*2^-8 ties to 1 + 2^-6.
  CHECK(f32_to_bf16(1.0f + 0x1p-8f) == 0x3F80);
  CHECK(f32_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3F82);
  CHECK(f32_to_bf16(1.0f + 0x1p-8f + 0x1p-23f) == 0x3F81);
  CHECK(f32_to_bf16(0.1f) == 0x3DCD);
  // Overflow: max bf16 is (2 - 2^-7) * 2^127 = 0x7F7F; the midpoint to 2^128 is (2 - 2^-8) * 2^127.
  CHECK(f32_to_bf16(float_of(0x7F7F7FFF)) == 0x7F7F);
  CHECK(f32_to_bf16(float_of(0x7F7F8000)) == 0x7F80);
  CHECK(f32_to_bf16(std::numeric_limits<float>::max()) == 0x7F80);
  CHECK(f32_to_bf16(-std::numeric_limits<float>::max()) == 0xFF80);
  // Subnormals: f32 subnormals round to bf16 subnormals (no flush to zero). Smallest bf16 subnormal
  // is 2^-133 = f32 pattern 0x00010000; half of it (0x8000) ties to 0; a bit more rounds up.
  CHECK(f32_to_bf16(float_of(0x00010000)) == 0x0001);
  CHECK(f32_to_bf16(float_of(0x00008000)) == 0x0000);
  CHECK(f32_to_bf16(float_of(0x00008001)) == 0x0001);
  CHECK(f32_to_bf16(float_of(0x00018000)) == 0x0002);  // 1.5 units -> 2 (even)
  CHECK(f32_to_bf16(float_of(0x807F8000)) == 0x8080);  // tie at the top of the subnormals -> -2^-126
  CHECK(f32_to_bf16(std::numeric_limits<float>::denorm_min()) == 0x0000);
  CHECK(bf16_to_f32(0x0001) == 0x1p-133f);
}

TEST_CASE("half: NaN policy (the F16C rule: sign kept, quiet bit set, top payload bits kept)") {
  // Exhaustive over f32 NaN payloads at a stride, both signs, signalling and quiet.
  for (uint32_t sign : {0u, 0x80000000u}) {
    for (uint32_t mant = 1; mant < (1u << 23); mant += 97) {
      const uint32_t x = sign | 0x7F800000u | mant;
      CHECK(f32_to_f16(float_of(x)) == nan_rule(x, kF16));
      CHECK(f32_to_bf16(float_of(x)) == nan_rule(x, kBF16));
    }
  }
  // Named cases: signalling NaN with only the lowest bit set loses its payload but stays NaN.
  CHECK(f32_to_f16(float_of(0x7F800001)) == 0x7E00);
  CHECK(f32_to_f16(float_of(0xFFC00000)) == 0xFE00);
  CHECK(f32_to_f16(float_of(0x7FFFFFFF)) == 0x7FFF);
  CHECK(f32_to_bf16(float_of(0x7F800001)) == 0x7FC0);
  CHECK(f32_to_bf16(float_of(0xFF810000)) == 0xFFC1);
  // f64 NaNs follow the same rule with the 52-bit mantissa, which is what the hardware chain
  // double -> float (cvtsd2ss) -> half gives.
  SplitMix rng{7};
  for (int i = 0; i < 10000; ++i) {
    const uint64_t mant = rng.next() & ((uint64_t(1) << 52) - 1);
    if (mant == 0) continue;
    const uint64_t sign = (i & 1) ? (uint64_t(1) << 63) : 0;
    volatile double x = std::bit_cast<double>(sign | 0x7FF0000000000000ull | mant);  // volatile: no folding
    const uint16_t s16 = sign ? 0x8000 : 0;
    CHECK(f64_to_f16(x) == uint16_t(s16 | 0x7E00 | (mant >> 42)));
    CHECK(f64_to_bf16(x) == uint16_t(s16 | 0x7FC0 | (mant >> 45)));
    const float via_float = float(x);
    CHECK(f64_to_f16(x) == f32_to_f16(via_float));
    CHECK(f64_to_bf16(x) == f32_to_bf16(via_float));
  }
}

TEST_CASE("half: f32 -> f16/bf16 matches the table-search reference over a sweep of f32 patterns") {
  const std::vector<double> t16 = value_table(kF16), tbf = value_table(kBF16);
  int failures = 0;
  // Every 4099th pattern (odd stride: all residues of the low bits get visited), NaNs excluded.
  for (uint64_t u = 0; u < (uint64_t(1) << 32) && failures < 10; u += 4099) {
    const float x = float_of(uint32_t(u));
    if (std::isnan(x)) continue;
    const bool ok = f32_to_f16(x) == ref_round(double(x), kF16, t16) &&
                    f32_to_bf16(x) == ref_round(double(x), kBF16, tbf);
    if (!ok) ++failures;
    CHECK_MESSAGE(ok, "f32 pattern ", u);
  }
}

TEST_CASE("half f64: every midpoint ties to even, +-1 double ulp rounds to nearer (no double rounding)") {
  check_midpoints_f64(kF16);
  check_midpoints_f64(kBF16);
  // The double-rounding trap spelled out: 1 + 2^-11 + 2^-40 is just above the midpoint between 1 and
  // 1 + 2^-10, so it rounds up. Through f32 it would first become exactly 1 + 2^-11 and then tie to 1.
  const double x = 1.0 + 0x1p-11 + 0x1p-40;
  CHECK(f64_to_f16(x) == 0x3C01);
  CHECK(f32_to_f16(float(x)) == 0x3C00);
  const double y = 1.0 + 0x1p-8 + 0x1p-40;  // same for bf16
  CHECK(f64_to_bf16(y) == 0x3F81);
  CHECK(f32_to_bf16(float(y)) == 0x3F80);
  CHECK(f64_to_f16(65520.0) == 0x7C00);
  CHECK(f64_to_f16(std::nextafter(65520.0, 0.0)) == 0x7BFF);
  CHECK(f64_to_f16(0x1p-25) == 0x0000);
  CHECK(f64_to_f16(std::nextafter(0x1p-25, 1.0)) == 0x0001);
  CHECK(f64_to_f16(std::numeric_limits<double>::denorm_min()) == 0x0000);
  CHECK(f64_to_f16(-std::numeric_limits<double>::max()) == 0xFC00);
  CHECK(f64_to_bf16(1e300) == 0x7F80);
  CHECK(f64_to_bf16(0x1p-134) == 0x0000);                       // half the smallest subnormal: tie -> 0
  CHECK(f64_to_bf16(std::nextafter(0x1p-134, 1.0)) == 0x0001);  // below f32's range of exactness too
}

TEST_CASE("half f64: random doubles match the table-search reference") {
  const std::vector<double> t16 = value_table(kF16), tbf = value_table(kBF16);
  SplitMix rng{42};
  int failures = 0;
  for (int i = 0; i < 200000 && failures < 10; ++i) {
    // Random sign and mantissa, exponent spread over 2^-140 .. 2^130 to cover underflow and overflow.
    const uint64_t r = rng.next();
    const uint64_t exp = 1023 - 140 + (r >> 55) % 271;
    const uint64_t bits = (r & (uint64_t(1) << 63)) | (exp << 52) | (rng.next() & ((uint64_t(1) << 52) - 1));
    const double x = std::bit_cast<double>(bits);
    const bool ok = f64_to_f16(x) == ref_round(x, kF16, t16) && f64_to_bf16(x) == ref_round(x, kBF16, tbf);
    if (!ok) ++failures;
    CHECK_MESSAGE(ok, "double ", x, " bits ", bits);
  }
}

namespace {

// Run fast and ref array conversions over src[offset, offset + n) and require identical bits.
template <class Src, class Dst>
bool same_bits(void (*fast)(const Src*, Dst*, int64_t), void (*ref)(const Src*, Dst*, int64_t), const Src* src,
               int64_t n) {
  std::vector<Dst> a(size_t(n) + 1), b(size_t(n) + 1);
  fast(src, a.data(), n);
  ref(src, b.data(), n);
  return std::memcmp(a.data(), b.data(), sizeof(Dst) * size_t(n)) == 0;
}

}  // namespace

TEST_CASE("half: AVX2/F16C array paths are bit-identical to the scalar loops") {
  if (!cpu_has_avx2()) {
    MESSAGE("CPU lacks AVX2/F16C: fast paths not tested");
    return;
  }
  // All 65536 half patterns, f16 and bf16 -> f32.
  std::vector<uint16_t> all(65536);
  for (uint32_t k = 0; k < 65536; ++k) all[k] = uint16_t(k);
  CHECK(same_bits(convert_f16_to_f32_avx2, convert_f16_to_f32_ref, all.data(), 65536));
  CHECK(same_bits(convert_bf16_to_f32_avx2, convert_bf16_to_f32_ref, all.data(), 65536));

  // Every 251st f32 pattern (17 million values, so NaNs, infs, subnormals of both signs all appear),
  // converted in chunks whose lengths are not multiples of 8 so the scalar tails run too.
  const uint64_t stride = 251;
  std::vector<float> chunk;
  uint64_t u = 0;
  int64_t len = 1;
  int failures = 0;
  while (u < (uint64_t(1) << 32) && failures < 5) {
    chunk.clear();
    for (int64_t i = 0; i < len && u < (uint64_t(1) << 32); ++i, u += stride) chunk.push_back(float_of(uint32_t(u)));
    const int64_t n = int64_t(chunk.size());
    const bool ok = same_bits(convert_f32_to_f16_avx2, convert_f32_to_f16_ref, chunk.data(), n) &&
                    same_bits(convert_f32_to_bf16_avx2, convert_f32_to_bf16_ref, chunk.data(), n);
    if (!ok) ++failures;
    CHECK_MESSAGE(ok, "chunk of ", n, " ending at f32 pattern ", u - stride);
    len = len < 100 ? len + 1 : 65536 + 5;  // short chunks exercise tails 0..7, then long ones
  }
  // Hand-picked specials in every lane position.
  const std::vector<uint32_t> specials = {0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x7F800000,
                                          0xFF800000, 0x7F800001, 0xFFFFFFFF, 0x7FC00000, 0x477FEFFF,
                                          0x477FF000, 0x33000000, 0x33000001, 0x7F7F8000, 0x3F808000};
  for (size_t shift = 0; shift < 8; ++shift) {
    std::vector<float> v(shift, 1.0f);
    for (uint32_t s : specials) v.push_back(float_of(s));
    CHECK(same_bits(convert_f32_to_f16_avx2, convert_f32_to_f16_ref, v.data(), int64_t(v.size())));
    CHECK(same_bits(convert_f32_to_bf16_avx2, convert_f32_to_bf16_ref, v.data(), int64_t(v.size())));
  }
}

TEST_CASE("half: dispatching array conversions follow isa()") {
  const Isa saved = isa();
  std::vector<float> x = {1.0f, 0x1p-25f, 65520.0f, -0.1f, float_of(0x7F800001), 3.14159f, -1e-8f, 1e38f, 2.5f};
  const int64_t n = int64_t(x.size());
  std::vector<uint16_t> h(x.size()), want(x.size());
  std::vector<float> back(x.size()), want_back(x.size());
  std::vector<Isa> isas = {Isa::scalar};
  if (cpu_has_avx2()) isas.push_back(Isa::avx2);
  if (cpu_has_avx512()) isas.push_back(Isa::avx512);  // must still take the AVX2 conversions
  for (Isa which : isas) {
    set_isa(which);
    convert_f32_to_f16(x.data(), h.data(), n);
    convert_f32_to_f16_ref(x.data(), want.data(), n);
    CHECK(h == want);
    convert_f16_to_f32(h.data(), back.data(), n);
    convert_f16_to_f32_ref(h.data(), want_back.data(), n);
    CHECK(std::memcmp(back.data(), want_back.data(), sizeof(float) * x.size()) == 0);
    convert_f32_to_bf16(x.data(), h.data(), n);
    convert_f32_to_bf16_ref(x.data(), want.data(), n);
    CHECK(h == want);
    convert_bf16_to_f32(h.data(), back.data(), n);
    convert_bf16_to_f32_ref(h.data(), want_back.data(), n);
    CHECK(std::memcmp(back.data(), want_back.data(), sizeof(float) * x.size()) == 0);
    CHECK(h[0] == 0x3F80);
  }
  set_isa(saved);
}
