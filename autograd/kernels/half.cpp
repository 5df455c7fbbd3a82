// Array conversions between f32 and f16/bf16: the plain loops (the reference) and the dispatch to the
// AVX-512 versions in half_avx512.cpp and the AVX2/F16C versions in half_avx2.cpp, widest first.
// The scalar rounding itself lives in half.h.
#include "autograd/kernels/half.h"

#include "autograd/kernels/cpu.h"

namespace dg::kernels {

void convert_f32_to_f16_ref(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}
void convert_f16_to_f32_ref(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}
void convert_f32_to_bf16_ref(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}
void convert_bf16_to_f32_ref(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

void convert_f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
  if (has_avx512()) convert_f32_to_f16_avx512(src, dst, n);
  else if (has_avx2()) convert_f32_to_f16_avx2(src, dst, n);
  else convert_f32_to_f16_ref(src, dst, n);
}
void convert_f16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  if (has_avx512()) convert_f16_to_f32_avx512(src, dst, n);
  else if (has_avx2()) convert_f16_to_f32_avx2(src, dst, n);
  else convert_f16_to_f32_ref(src, dst, n);
}
void convert_f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  if (has_avx512_bf16()) convert_f32_to_bf16_avx512bf16(src, dst, n);
  else if (has_avx2()) convert_f32_to_bf16_avx2(src, dst, n);
  else convert_f32_to_bf16_ref(src, dst, n);
}
void convert_bf16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  if (has_avx512()) convert_bf16_to_f32_avx512(src, dst, n);
  else if (has_avx2()) convert_bf16_to_f32_avx2(src, dst, n);
  else convert_bf16_to_f32_ref(src, dst, n);
}

}  // namespace dg::kernels
