// Reduction loops on raw pointers. Shape legend: the input is viewed as [outer, R, inner] and reduced
// over R into [outer, inner] (any set of adjacent dims collapses to this form).
//
// NOTE [ Deterministic reductions ]
// Each output is accumulated in double, in index order, by one thread. When there are too few
// outputs to keep the threads busy (a full sum), R is cut into fixed blocks of kBlock elements whose
// partial sums are added in block order afterwards. The block size never depends on the thread count,
// so 1 and N threads give the same bits.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "autograd/kernels/broadcast.h"

namespace dg::kernels {

constexpr int64_t kBlock = 8192;

// out[o, i] = sum_r x[o, r, i]
template <class T>
void reduce_sum(const T* x, int64_t outer, int64_t R, int64_t inner, T* out) {
  const int64_t total = outer * R * inner;
  if (inner == 1 && outer < 4 && R > 2 * kBlock) {
    const int64_t nblocks = (R + kBlock - 1) / kBlock;
    std::vector<double> partial((size_t)(outer * nblocks));
#pragma omp parallel for schedule(static)
    for (int64_t ob = 0; ob < outer * nblocks; ++ob) {
      const int64_t o = ob / nblocks, b = ob % nblocks;
      const int64_t lo = b * kBlock, hi = std::min(R, lo + kBlock);
      double acc = 0;
      for (int64_t r = lo; r < hi; ++r) acc += x[o * R + r];
      partial[(size_t)ob] = acc;
    }
    for (int64_t o = 0; o < outer; ++o) {
      double acc = 0;
      for (int64_t b = 0; b < nblocks; ++b) acc += partial[(size_t)(o * nblocks + b)];
      out[o] = (T)acc;
    }
    return;
  }
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
    for (int64_t o = 0; o < outer; ++o) {
      double acc = 0;
      const T* p = x + o * R;
      for (int64_t r = 0; r < R; ++r) acc += p[r];
      out[o] = (T)acc;
    }
    return;
  }
  // inner > 1: a row of accumulators per outer index, walking R in order.
  constexpr int64_t kTile = 512;
  const int64_t tiles = (inner + kTile - 1) / kTile;
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
  for (int64_t ot = 0; ot < outer * tiles; ++ot) {
    const int64_t o = ot / tiles, i0 = (ot % tiles) * kTile, i1 = std::min(inner, i0 + kTile);
    double acc[kTile];
    for (int64_t i = i0; i < i1; ++i) acc[i - i0] = 0;
    for (int64_t r = 0; r < R; ++r) {
      const T* p = x + (o * R + r) * inner;
      for (int64_t i = i0; i < i1; ++i) acc[i - i0] += p[i];
    }
    for (int64_t i = i0; i < i1; ++i) out[o * inner + i] = (T)acc[i - i0];
  }
}

// out[o, i] = sum_r (x[o, r, i] - mean[o, i])^2   (second pass of a two-pass variance)
template <class T>
void reduce_sq_dev(const T* x, const T* mean, int64_t outer, int64_t R, int64_t inner, T* out) {
  const int64_t total = outer * R * inner;
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
  for (int64_t oi = 0; oi < outer * inner; ++oi) {
    const int64_t o = oi / inner, i = oi % inner;
    const double m = mean[oi];
    double acc = 0;
    for (int64_t r = 0; r < R; ++r) {
      const double d = (double)x[(o * R + r) * inner + i] - m;
      acc += d * d;
    }
    out[oi] = (T)acc;
  }
}

// Largest (is_max) or smallest value over R and the index r of its first occurrence. NaN wins
// (propagates) and its first index is reported, as PyTorch does.
template <class T>
void reduce_arg_extreme(const T* x, int64_t outer, int64_t R, int64_t inner, bool is_max, T* val, int64_t* idx) {
  const int64_t total = outer * R * inner;
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
  for (int64_t oi = 0; oi < outer * inner; ++oi) {
    const int64_t o = oi / inner, i = oi % inner;
    T best = x[o * R * inner + i];
    int64_t bi = 0;
    for (int64_t r = 1; r < R && best == best; ++r) {
      const T v = x[(o * R + r) * inner + i];
      if (v != v || (is_max ? v > best : v < best)) {
        best = v;
        bi = r;
      }
    }
    val[oi] = best;
    if (idx) idx[oi] = bi;
  }
}

}  // namespace dg::kernels
