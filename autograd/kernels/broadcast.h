// Broadcast iteration on raw pointers: no Tensor here.
//
// Shapes: `shape` is the output shape (rank R); each input is read through `strides` of length R in
// elements, with stride 0 on dimensions where that input has size 1 (NumPy broadcasting). The output
// is contiguous. Work is split over rows of the last dimension; each output element is written by
// exactly one thread, so results do not depend on the thread count.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace dg::kernels {

constexpr int64_t kParallelMin = 1 << 15;  // below this many elements, loops stay single-threaded

// Calls body(row, offsets, inner) for each row of the last dimension: offsets[k] is input k's element
// offset at the row's start, inner the row length; input k advances by strides[k][R-1] along the row.
template <size_t K, class Body>
void for_each_row(const std::vector<int64_t>& shape, const std::array<const int64_t*, K>& strides, Body body) {
  const int64_t R = (int64_t)shape.size();
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n == 0) return;
  const int64_t inner = R ? shape[(size_t)R - 1] : 1;
  const int64_t rows = n / inner;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    std::array<int64_t, K> off{};
    int64_t rem = r;
    for (int64_t d = R - 2; d >= 0; --d) {
      const int64_t i = rem % shape[(size_t)d];
      rem /= shape[(size_t)d];
      for (size_t k = 0; k < K; ++k) off[k] += i * strides[k][d];
    }
    body(r, off, inner);
  }
}

// out[i] = f(a[...], b[...]) with broadcasting.
template <class Ta, class Tb, class To, class F>
void broadcast_binary(const std::vector<int64_t>& shape, const Ta* a, const int64_t* sa, const Tb* b, const int64_t* sb,
                      To* out, F f) {
  const int64_t R = (int64_t)shape.size();
  const int64_t ia = R ? sa[R - 1] : 0, ib = R ? sb[R - 1] : 0;
  for_each_row<2>(shape, {sa, sb}, [&](int64_t r, const std::array<int64_t, 2>& off, int64_t inner) {
    To* o = out + r * inner;
    const Ta* pa = a + off[0];
    const Tb* pb = b + off[1];
    if (ia == 1 && ib == 1)
      for (int64_t i = 0; i < inner; ++i) o[i] = f(pa[i], pb[i]);
    else if (ia == 1 && ib == 0)
      for (int64_t i = 0; i < inner; ++i) o[i] = f(pa[i], pb[0]);
    else if (ia == 0 && ib == 1)
      for (int64_t i = 0; i < inner; ++i) o[i] = f(pa[0], pb[i]);
    else
      for (int64_t i = 0; i < inner; ++i) o[i] = f(pa[i * ia], pb[i * ib]);
  });
}

// out[i] = f(c[...], a[...], b[...]) with broadcasting (used by where).
template <class Tc, class Ta, class Tb, class To, class F>
void broadcast_ternary(const std::vector<int64_t>& shape, const Tc* c, const int64_t* sc, const Ta* a,
                       const int64_t* sa, const Tb* b, const int64_t* sb, To* out, F f) {
  const int64_t R = (int64_t)shape.size();
  const int64_t ic = R ? sc[R - 1] : 0, ia = R ? sa[R - 1] : 0, ib = R ? sb[R - 1] : 0;
  for_each_row<3>(shape, {sc, sa, sb}, [&](int64_t r, const std::array<int64_t, 3>& off, int64_t inner) {
    To* o = out + r * inner;
    for (int64_t i = 0; i < inner; ++i) o[i] = f(c[off[0] + i * ic], a[off[1] + i * ia], b[off[2] + i * ib]);
  });
}

// out[i] = f(x[i]) over a contiguous array.
template <class Ti, class To, class F>
void map_unary(const Ti* x, To* out, int64_t n, F f) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
}

// Strided copy: dst[dst_off + sum_d i_d*dst_strides[d]] = src[src_off + sum_d i_d*src_strides[d]] for
// every index i of `shape`. The one copy loop behind permute, expand, slice, narrow and pad. The
// destination positions must not overlap (each is written by one thread).
template <class T>
void copy_strided(const std::vector<int64_t>& shape, const T* src, int64_t src_off, const int64_t* src_strides, T* dst,
                  int64_t dst_off, const int64_t* dst_strides) {
  const int64_t R = (int64_t)shape.size();
  const int64_t si = R ? src_strides[R - 1] : 0, di = R ? dst_strides[R - 1] : 0;
  for_each_row<2>(shape, {src_strides, dst_strides}, [&](int64_t, const std::array<int64_t, 2>& off, int64_t inner) {
    const T* p = src + src_off + off[0];
    T* o = dst + dst_off + off[1];
    if (si == 1 && di == 1)
      for (int64_t i = 0; i < inner; ++i) o[i] = p[i];
    else
      for (int64_t i = 0; i < inner; ++i) o[i * di] = p[i * si];
  });
}

}  // namespace dg::kernels
