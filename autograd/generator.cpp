#include "autograd/generator.h"

#include <cmath>

namespace dg {

// PCG32 (XSH-RR): state advances by a 64-bit LCG; output is a xorshifted, rotated 32-bit view of it.
void Generator::manual_seed(uint64_t seed) {
  seed_ = seed;
  state_ = 0;
  inc_ = (seed << 1u) | 1u;  // the stream: any odd increment
  next_u32();
  state_ += 0x853c49e6748fea9bULL ^ seed;
  next_u32();
  has_spare_ = false;
}

uint32_t Generator::next_u32() {
  uint64_t old = state_;
  state_ = old * 6364136223846793005ULL + inc_;
  uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = (uint32_t)(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

double Generator::uniform01() {
  uint64_t hi = next_u32(), lo = next_u32();
  uint64_t bits = ((hi << 32) | lo) >> 11;  // 53 bits
  return (double)bits * 0x1.0p-53;
}

// Box-Muller: two uniforms give two independent normals; the second is kept for the next call.
double Generator::normal01() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform01(), u2 = uniform01();
  if (u1 < 1e-300) u1 = 1e-300;
  double r = std::sqrt(-2.0 * std::log(u1)), th = 6.283185307179586 * u2;
  spare_ = r * std::sin(th);
  has_spare_ = true;
  return r * std::cos(th);
}

int64_t Generator::randint(int64_t lo, int64_t hi) {
  check(hi > lo, "randint: empty range [", lo, ", ", hi, ")");
  uint64_t span = (uint64_t)(hi - lo);
  // Rejection sampling on 64 random bits removes the modulo bias.
  uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t v;
  do {
    v = ((uint64_t)next_u32() << 32) | next_u32();
  } while (v >= limit);
  return lo + (int64_t)(v % span);
}

template <class F>
static Tensor fill(const Shape& shape, DType dtype, F draw) {
  const int64_t n = shape_numel(shape);
  std::vector<double> v((size_t)n);
  for (auto& x : v) x = draw();
  return from_vector(v, shape, dtype);
}

Tensor rand(const Shape& shape, Generator& gen, DType dtype) {
  return fill(shape, dtype, [&] { return gen.uniform01(); });
}
Tensor randn(const Shape& shape, Generator& gen, DType dtype) {
  return fill(shape, dtype, [&] { return gen.normal01(); });
}
Tensor uniform(const Shape& shape, double lo, double hi, Generator& gen, DType dtype) {
  return fill(shape, dtype, [&] { return lo + (hi - lo) * gen.uniform01(); });
}
Tensor normal(const Shape& shape, double mean, double std, Generator& gen, DType dtype) {
  return fill(shape, dtype, [&] { return mean + std * gen.normal01(); });
}
Tensor randint(const Shape& shape, int64_t lo, int64_t hi, Generator& gen, DType dtype) {
  return fill(shape, dtype, [&] { return (double)gen.randint(lo, hi); });
}

}  // namespace dg
