// Generator: a seeded random-number source with the same numbers on every machine and compiler.
// The bits come from PCG32 (O'Neill 2014: a 64-bit LCG with a permuted 32-bit output); floats take
// the top 24 (f32) or 53 (f64) bits; normals use Box-Muller with both values of each pair used.
// Tensors are filled sequentially, so a fill is independent of the OpenMP thread count.
#pragma once
#include <cstdint>

#include "autograd/tensor.h"

namespace dg {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { manual_seed(seed); }
  void manual_seed(uint64_t seed);
  uint32_t next_u32();                      // uniform on [0, 2^32)
  double uniform01();                       // uniform on [0, 1) with 53 random bits
  double normal01();                        // standard normal
  int64_t randint(int64_t lo, int64_t hi);  // uniform integer in [lo, hi) (unbiased, rejection)
  uint64_t seed() const { return seed_; }

 private:
  uint64_t state_ = 0, inc_ = 0, seed_ = 0;
  bool has_spare_ = false;
  double spare_ = 0;
};

Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32);   // U[0,1)
Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32);  // N(0,1)
Tensor uniform(const Shape& shape, double lo, double hi, Generator& gen, DType dtype = DType::f32);
Tensor normal(const Shape& shape, double mean, double std, Generator& gen, DType dtype = DType::f32);
Tensor randint(const Shape& shape, int64_t lo, int64_t hi, Generator& gen, DType dtype = DType::i64);

}  // namespace dg
