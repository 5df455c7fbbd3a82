// The AVX-512 array conversions (autograd/kernels/half_avx512.cpp) against the scalar loops, bit for bit.
// All 2^32 f32 patterns would take ~20 s, so the inputs are the neighbourhoods of every half result: for
// each of the 65536 high halves, the low halves {0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF} and three random
// ones (the rounding edges of bf16, and for f16 every exponent, NaN payload and sign), plus every f32
// subnormal (the lanes vcvtneps2bf16 gets wrong and the fix-up repairs), also under MXCSR FTZ|DAZ.
#include <doctest/doctest.h>

#include <xmmintrin.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "autograd/kernels/cpu.h"
#include "autograd/kernels/half.h"

using namespace dg::kernels;

namespace {

using Narrow = void (*)(const float*, uint16_t*, int64_t);
using Widen = void (*)(const uint16_t*, float*, int64_t);

// f32 patterns hi << 16 | lo for every hi and the edge lows, in one vector.
std::vector<float> neighbourhoods() {
  std::vector<uint32_t> lows = {0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF};
  std::mt19937 rng(7);
  for (int k = 0; k < 3; ++k) lows.push_back(rng() & 0xFFFF);
  std::vector<float> v;
  v.reserve(65536 * lows.size());
  for (uint32_t hi = 0; hi < 65536; ++hi)
    for (uint32_t lo : lows) v.push_back(std::bit_cast<float>(hi << 16 | lo));
  return v;
}

// Every f32 subnormal of both signs (2 * (2^23 - 1) patterns) and both zeros.
std::vector<float> all_subnormals() {
  std::vector<float> v;
  v.reserve(size_t(2) << 23);
  for (uint32_t m = 0; m < (1u << 23); ++m) {
    v.push_back(std::bit_cast<float>(m));
    v.push_back(std::bit_cast<float>(0x80000000u | m));
  }
  return v;
}

// Runs fast and ref over src in chunks of growing odd lengths (so every tail length 0..15 and every
// lane position occur); returns the first differing index or -1.
int64_t first_difference(Narrow fast, Narrow ref, const std::vector<float>& src) {
  const int64_t n = int64_t(src.size());
  std::vector<uint16_t> a(src.size()), b(src.size());
  int64_t at = 0, len = 1;
  while (at < n) {
    const int64_t m = std::min(len, n - at);
    fast(src.data() + at, a.data() + at, m);
    at += m;
    len = len < 40 ? len + 1 : 4099;
  }
  ref(src.data(), b.data(), n);
  for (int64_t i = 0; i < n; ++i)
    if (a[size_t(i)] != b[size_t(i)]) return i;
  return -1;
}

std::string hex(uint32_t u) {
  char s[16];
  std::snprintf(s, sizeof s, "0x%08X", u);
  return s;
}

void check_narrow(Narrow fast, Narrow ref, const std::vector<float>& src, const char* what) {
  const int64_t i = first_difference(fast, ref, src);
  uint16_t got = 0, want = 0;
  if (i >= 0) {
    std::vector<float> lane(16, src[size_t(i)]);
    std::vector<uint16_t> out(16);  // a full vector, so the value goes through a lane, not the tail
    fast(lane.data(), out.data(), 16);
    got = out[0];
    ref(&src[size_t(i)], &want, 1);
  }
  CHECK_MESSAGE(i < 0, what, ": first difference at f32 ", hex(i < 0 ? 0 : std::bit_cast<uint32_t>(src[size_t(i)])),
                " fast ", got, " ref ", want);
}

bool same_widen(Widen fast, Widen ref) {
  std::vector<uint16_t> all(65536 + 13);
  for (size_t k = 0; k < all.size(); ++k) all[k] = uint16_t(k);
  std::vector<float> a(all.size()), b(all.size());
  fast(all.data(), a.data(), int64_t(all.size()));
  ref(all.data(), b.data(), int64_t(all.size()));
  return std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0;
}

// Sets MXCSR FTZ (bit 15) and DAZ (bit 6) for the lifetime of the object.
struct FlushToZero {
  unsigned saved = _mm_getcsr();
  FlushToZero() { _mm_setcsr(saved | 0x8040); }
  ~FlushToZero() { _mm_setcsr(saved); }
};

}  // namespace

TEST_CASE("half avx512: f16 paths (zmm vcvtps2ph / vcvtph2ps) are bit-identical to the scalar loops") {
  if (!cpu_has_avx512()) {
    MESSAGE("CPU lacks AVX-512 F/BW/DQ/VL: AVX-512 f16 path not tested");
    return;
  }
  check_narrow(convert_f32_to_f16_avx512, convert_f32_to_f16_ref, neighbourhoods(), "f32->f16 neighbourhoods");
  check_narrow(convert_f32_to_f16_avx512, convert_f32_to_f16_ref, all_subnormals(), "f32->f16 subnormals");
  CHECK(same_widen(convert_f16_to_f32_avx512, convert_f16_to_f32_ref));
  CHECK(same_widen(convert_bf16_to_f32_avx512, convert_bf16_to_f32_ref));
  FlushToZero ftz;
  check_narrow(convert_f32_to_f16_avx512, convert_f32_to_f16_ref, neighbourhoods(), "f32->f16 under FTZ|DAZ");
  CHECK(same_widen(convert_f16_to_f32_avx512, convert_f16_to_f32_ref));
}

TEST_CASE("half avx512: bf16 narrowing (vcvtneps2bf16 + subnormal fix-up) is bit-identical to the scalar loop") {
  if (!cpu_has_avx512_bf16()) {
    MESSAGE("CPU lacks AVX512_BF16: vcvtneps2bf16 path not tested");
    return;
  }
  const std::vector<float> near = neighbourhoods(), tiny = all_subnormals();
  check_narrow(convert_f32_to_bf16_avx512bf16, convert_f32_to_bf16_ref, near, "f32->bf16 neighbourhoods");
  check_narrow(convert_f32_to_bf16_avx512bf16, convert_f32_to_bf16_ref, tiny, "f32->bf16 subnormals");
  // Named edges in every lane position: subnormal ties and non-ties, the overflow cut, signalling NaNs.
  const std::vector<uint32_t> edges = {0x00008000, 0x00008001, 0x00018000, 0x807FFFFF, 0x007F8000, 0x00000001,
                                       0x7F7F8000, 0x7F7F7FFF, 0xFF7F8000, 0x7F800001, 0xFF800001, 0x7FFFFFFF,
                                       0x3F808000, 0x3F818000, 0x7F800000, 0x80000000};
  for (size_t shift = 0; shift < 16; ++shift) {
    std::vector<float> v(shift, 1.0f);
    for (uint32_t e : edges) v.push_back(std::bit_cast<float>(e));
    check_narrow(convert_f32_to_bf16_avx512bf16, convert_f32_to_bf16_ref, v, "f32->bf16 edges");
  }
  uint16_t h[16];
  std::vector<float> sub(16, std::bit_cast<float>(0x00008001u));  // the instruction alone gives 0x0000
  convert_f32_to_bf16_avx512bf16(sub.data(), h, 16);
  CHECK(h[5] == 0x0001);
  FlushToZero ftz;  // the integer fix-up and the instruction both ignore MXCSR
  check_narrow(convert_f32_to_bf16_avx512bf16, convert_f32_to_bf16_ref, tiny, "f32->bf16 subnormals under FTZ|DAZ");
  check_narrow(convert_f32_to_bf16_avx512bf16, convert_f32_to_bf16_ref, near, "f32->bf16 neighbourhoods under FTZ|DAZ");
}

TEST_CASE("half avx512: dispatch at the avx512 level gives the scalar results") {
  if (!cpu_has_avx512()) {
    MESSAGE("CPU lacks AVX-512: dispatch at the avx512 level not tested");
    return;
  }
  const Isa saved = isa();
  set_isa(Isa::avx512);
  CHECK(has_avx512_bf16() == cpu_has_avx512_bf16());
  std::vector<float> x;
  for (uint32_t u : {0x3F808000u, 0x00008001u, 0x80018000u, 0x477FF000u, 0x7F800001u, 0x33000001u, 0x7F7F8000u})
    for (int k = 0; k < 5; ++k) x.push_back(std::bit_cast<float>(u + uint32_t(k)));  // 35: two zmm steps and a tail
  const int64_t n = int64_t(x.size());
  std::vector<uint16_t> h(x.size()), want(x.size());
  convert_f32_to_bf16(x.data(), h.data(), n);
  convert_f32_to_bf16_ref(x.data(), want.data(), n);
  CHECK(h == want);
  convert_f32_to_f16(x.data(), h.data(), n);
  convert_f32_to_f16_ref(x.data(), want.data(), n);
  CHECK(h == want);
  set_isa(Isa::avx2);
  CHECK_FALSE(has_avx512_bf16());  // DETGRAD_ISA=avx2 must also switch the BF16 instruction off
  set_isa(saved);
}
