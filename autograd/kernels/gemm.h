// GEMM: general matrix multiply on raw row-major pointers, BLAS-style.
//
// Shape legend
//   M        rows of op(A) and of C
//   N        columns of op(B) and of C
//   K        the summed dimension: columns of op(A), rows of op(B)
//   op(A)    A (stored M x K, lda >= K)   or A^T (A stored K x M, lda >= M)   when trans_a
//   op(B)    B (stored K x N, ldb >= N)   or B^T (B stored N x K, ldb >= K)   when trans_b
//   C        M x N, ldc >= N
//
// Every function computes
//   C[i,j] = alpha * sum_k op(A)[i,k] * op(B)[k,j] + beta * C[i,j]
// with the BLAS conventions: beta == 0 overwrites C without reading it (NaN garbage in C does not
// propagate), alpha == 0 or K == 0 leaves C = beta * C, M == 0 or N == 0 does nothing.
//
// Determinism: sgemm and dgemm give bit-identical results for every OpenMP thread count (threads
// split C into tiles; the K dimension is never split). See docs/gemm.md, "Why it is deterministic".
#pragma once
#include <cstdint>

namespace dg::kernels {

// The algorithmic reference: a plain triple loop, one running sum per C element in k order.
// Slow on purpose; tests compare the fast kernels against it.
template <class T>
void gemm_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
              int64_t ldb, T beta, T* C, int64_t ldc);

// The fast f32 GEMM used by the engine. Packs A and B into cache-sized panels and runs a
// register-blocked micro-kernel chosen by isa(): AVX-512 8x32 (Isa::avx512), AVX2/FMA 6x16
// (Isa::avx2; same bits as the AVX-512 one), portable C++ otherwise. OpenMP over tiles of C.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// f64 GEMM for reference computations and gradient checks: the same blocked, packed and
// OpenMP-parallel scheme with an AVX-512 8x16 micro-kernel (Isa::avx512) or a portable one.
void dgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
           const double* B, int64_t ldb, double beta, double* C, int64_t ldc);

}  // namespace dg::kernels
