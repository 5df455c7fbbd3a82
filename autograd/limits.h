// Limits and overflow-checked size arithmetic. Every number that becomes an allocation or a loop
// bound (a shape from a file or an option, an output shape an op computes, a byte count) goes through
// these, so a hostile input gives a dg::Error naming the size instead of a product that wraps around
// and a buffer that is too small. The limits are documented in docs/reliability.md.
#pragma once
#include <cstdint>

#include "autograd/error.h"

namespace dg {

// Elements of one tensor, and the length of any one dimension: 2^40 (4 TiB of f32, far beyond any
// machine this runs on, and small enough that elements x 8 bytes cannot overflow).
constexpr int64_t kMaxElements = int64_t{1} << 40;

// a * b for sizes (a, b >= 0); dg::Error "<what>: a x b is over the limit of <limit>" when the true
// product exceeds `limit` (or int64).
inline int64_t checked_mul(int64_t a, int64_t b, const char* what, int64_t limit = kMaxElements) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r) || r > limit)
    fail(what, ": ", a, " x ", b, " is over the limit of ", limit);
  return r;
}

// a + b for sizes, checked the same way.
inline int64_t checked_add(int64_t a, int64_t b, const char* what, int64_t limit = kMaxElements) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r) || r > limit) fail(what, ": ", a, " + ", b, " is over the limit of ", limit);
  return r;
}

}  // namespace dg
