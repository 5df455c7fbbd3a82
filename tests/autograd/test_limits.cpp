// Limits and overflow-checked sizes (autograd/limits.h): shapes whose element count or dimension is
// over the limit, or whose product wraps int64, are errors naming the shape; a zero dimension makes
// any product 0; ops that compute output shapes (pad, expand) and the .npy reader go through the same
// checks instead of allocating a wrapped-around size.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <string>

#include "autograd/limits.h"
#include "autograd/ops.h"

using namespace dg;

TEST_CASE("limits: checked_mul and checked_add") {
  CHECK(checked_mul(3, 4, "x") == 12);
  CHECK(checked_mul(0, int64_t{1} << 62, "x", INT64_MAX) == 0);
  CHECK_THROWS_WITH_PART(checked_mul(int64_t{1} << 32, int64_t{1} << 32, "im2col", INT64_MAX),
                         "im2col: 4294967296 x 4294967296 is over the limit");
  CHECK_THROWS_WITH_PART(checked_mul(kMaxElements, 2, "bytes"),
                         "bytes: 1099511627776 x 2 is over the limit of 1099511627776");
  CHECK_THROWS_WITH_PART(checked_mul(-1, 2, "n"), "n: -1 x 2");
  CHECK(checked_add(kMaxElements - 1, 1, "x") == kMaxElements);
  CHECK_THROWS_WITH_PART(checked_add(INT64_MAX, 1, "x", INT64_MAX), "x: 9223372036854775807 + 1 is over the limit");
}

TEST_CASE("limits: shapes over the limit are errors, not wrapped allocations") {
  CHECK(shape_numel({2, 3, 4}) == 24);
  CHECK(shape_numel({}) == 1);
  CHECK(shape_numel({0, 5}) == 0);
  CHECK(shape_numel({kMaxElements}) == kMaxElements);
  // A dimension over the limit is refused even next to a 0 (a hostile header of a "empty" array).
  CHECK_THROWS_WITH_PART(shape_numel({0, int64_t{1} << 62}), "has a dimension of 4611686018427387904, over the limit");
  // (2^32)^2 = 2^64 wraps to 0 in int64: caught.
  CHECK_THROWS_WITH_PART(shape_numel({int64_t{1} << 32, int64_t{1} << 32}), "has more than 1099511627776 elements");
  CHECK_THROWS_WITH_PART(shape_numel({int64_t{1} << 21, int64_t{1} << 21}), "has more than 1099511627776 elements");
  CHECK(shape_numel({int64_t{1} << 21, int64_t{1} << 21, 0}) == 0);
  CHECK_THROWS_WITH_PART(Tensor::empty({int64_t{1} << 32, int64_t{1} << 32}), "has more than");
  CHECK_THROWS_WITH_PART(shape_numel({3, -1}), "negative dimension in shape [3,-1]");
}

TEST_CASE("limits: ops computing output shapes from huge numbers fail clearly") {
  const Tensor x = ones({2, 3});
  const int64_t huge = int64_t{1} << 62;
  CHECK_THROWS_WITH_PART(pad(x, {huge, huge}), "pad: dimension 1 of size 3 padded by");
  CHECK_THROWS_WITH_PART(pad(x, {huge, huge}), "over the limit");
  CHECK_THROWS_WITH_PART(pad(x, {-huge, -huge}), "would have negative size");
  CHECK_THROWS_WITH_PART(expand(ones({1, 3}), {huge, 3}), "over the limit");
  CHECK_THROWS_WITH_PART(expand(ones({1, 3}), {kMaxElements, 3}), "has more than");
  // A sum over the empty dim of a [0, 2^62] tensor cannot even be built: the shape is refused first.
  CHECK_THROWS_WITH_PART(zeros({0, huge}), "over the limit");
}
