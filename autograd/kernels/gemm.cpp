// GEMM: the reference triple loop, and the blocked, packed, OpenMP-parallel driver shared by the
// f32 (AVX-512, AVX2 or portable micro-kernel) and f64 (portable micro-kernel) fast paths.
// Shapes and conventions: see gemm.h. The scheme is drawn in docs/gemm.md.
#include "autograd/kernels/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <new>

#include "autograd/error.h"
#include "autograd/kernels/cpu.h"

namespace dg::kernels {

// ---- reference ----------------------------------------------------------------------------------

template <class T>
void gemm_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
              int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T sum = 0;
      for (int64_t k = 0; k < K; ++k) {
        const T a = trans_a ? A[k * lda + i] : A[i * lda + k];
        const T b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
        sum += a * b;
      }
      T& c = C[i * ldc + j];
      c = beta == T(0) ? alpha * sum : alpha * sum + beta * c;  // beta == 0: never read C
    }
}
template void gemm_ref<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                              int64_t, float, float*, int64_t);
template void gemm_ref<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                               int64_t, double, double*, int64_t);

// ---- micro-kernels ------------------------------------------------------------------------------
//
// A micro-kernel computes one MR x NR tile of C from packed panels:
//   a: MR x kc panel of alpha*op(A), stored k-major: a[k*MR + i]   (rows past the matrix are 0)
//   b: kc x NR panel of op(B),       stored k-major: b[k*NR + j]   (columns past the matrix are 0)
//   acc[i][j] = sum_{k=0..kc-1} a[k*MR+i] * b[k*NR+j], summed in k order from 0
//   C[i,j] = acc[i][j] + beta*C[i,j]  for i < m, j < n  (beta == 0: C[i,j] = acc, C not read)
// The driver passes beta for the first k-block and 1 for the following ones.
template <class T>
using MicroKernel = void (*)(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, int m, int n, T beta);

namespace detail {
// Defined in gemm_avx2.cpp (compiled with -mavx2 -mfma): the 6x16 FMA kernel, 12 ymm accumulators.
void sgemm_micro_6x16_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n, float beta);
// Defined in gemm_avx512.cpp (compiled with -mavx512f...): the 8x32 kernel, 16 zmm accumulators.
void sgemm_micro_8x32_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
                             float beta);
// Also in gemm_avx512.cpp: the f64 8x16 kernel (8 doubles per zmm, 16 accumulators).
void dgemm_micro_8x16_avx512(int64_t kc, const double* a, const double* b, double* c, int64_t ldc, int m, int n,
                             double beta);
}  // namespace detail

// Portable micro-kernel: plain loops over a fixed-size accumulator array that the compiler keeps
// in (SSE) registers.
template <class T, int MR, int NR>
static void micro_portable(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, int m, int n, T beta) {
  T acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      T& cij = c[i * ldc + j];
      cij = beta == T(0) ? acc[i][j] : beta * cij + acc[i][j];
    }
}

// Register tile (MR x NR) and cache blocks: a kc x NR panel of B stays in L1 while the micro-kernel
// sweeps the MR-row panels of an mc x kc block of A kept in L2; the K x nc block of B lives in L3.
template <class T, int MR, int NR>
struct GemmConfig {
  int64_t kc, mc;   // k-block, rows of the A block
  int64_t nc;       // widest column block
  int64_t b_bytes;  // and at most this much packed B (K x nc)
  MicroKernel<T> micro;
};

static const GemmConfig<float, 6, 16> kAvx2F32{256, 144, 4096, 8 << 20, detail::sgemm_micro_6x16_avx2};
// kc must stay equal to kAvx2F32's: then both paths run the same per-element FMA sequence and give
// the same bits (test_gemm.cpp checks it).
static const GemmConfig<float, 8, 32> kAvx512F32{256, 256, 4096, 8 << 20, detail::sgemm_micro_8x32_avx512};
static const GemmConfig<float, 4, 8> kPortableF32{256, 128, 4096, 8 << 20, micro_portable<float, 4, 8>};
static const GemmConfig<double, 8, 16> kAvx512F64{256, 128, 2048, 8 << 20, detail::dgemm_micro_8x16_avx512};
static const GemmConfig<double, 4, 4> kPortableF64{256, 96, 2048, 8 << 20, micro_portable<double, 4, 4>};

// Problems smaller than this many multiply-adds run on the calling thread only: below it, waking
// the OpenMP team costs more than it saves.
static constexpr int64_t kMinParallelWork = 40 * 40 * 40;

// ---- packing ------------------------------------------------------------------------------------
// MR and NR are compile-time constants here so that the copy loops unroll and vectorise: packing
// is a few percent of the time of a large GEMM and most of the time of a small one.

// Ap <- alpha * op(A)[i0:i0+mc, p0:p0+kc] as ceil(mc/MR) panels of MR rows, each k-major
// (Ap[panel*MR*kc + k*MR + r]); rows past mc are zero so edge tiles need no special kernel.
template <int MR, class T>
static void pack_a(bool trans_a, const T* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, T alpha,
                   T* Ap) {
  for (int64_t ip = 0; ip < mc; ip += MR, Ap += MR * kc) {
    const int64_t rows = std::min<int64_t>(MR, mc - ip);
    if (trans_a) {  // op(A)[i,k] = A[k*lda + i]: MR neighbours in a row of A
      for (int64_t k = 0; k < kc; ++k) {
        const T* src = A + (p0 + k) * lda + i0 + ip;
        if (rows == MR) {
          for (int r = 0; r < MR; ++r) Ap[k * MR + r] = alpha * src[r];
        } else {
          for (int r = 0; r < MR; ++r) Ap[k * MR + r] = r < rows ? alpha * src[r] : T(0);
        }
      }
    } else {  // op(A)[i,k] = A[i*lda + k]: MR rows of A read side by side
      const T* src = A + (i0 + ip) * lda + p0;
      if (rows == MR) {
        for (int64_t k = 0; k < kc; ++k)
          for (int r = 0; r < MR; ++r) Ap[k * MR + r] = alpha * src[r * lda + k];
      } else {
        for (int64_t k = 0; k < kc; ++k)
          for (int r = 0; r < MR; ++r) Ap[k * MR + r] = r < rows ? alpha * src[r * lda + k] : T(0);
      }
    }
  }
}

// One NR-column panel: Bp[k*NR + j] <- op(B)[p0+k, j0+j] for k < kc, columns past `cols` zero.
template <int NR, class T>
static void pack_b_panel(bool trans_b, const T* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t cols,
                         T* Bp) {
  if (trans_b) {  // op(B)[k,j] = B[j*ldb + k]: NR rows of B read side by side
    const T* src = B + j0 * ldb + p0;
    if (cols == NR) {
      for (int64_t k = 0; k < kc; ++k)
        for (int j = 0; j < NR; ++j) Bp[k * NR + j] = src[j * ldb + k];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int j = 0; j < NR; ++j) Bp[k * NR + j] = j < cols ? src[j * ldb + k] : T(0);
    }
  } else {  // op(B)[k,j] = B[k*ldb + j]: each row of the panel is NR neighbours in a row of B
    for (int64_t k = 0; k < kc; ++k) {
      const T* src = B + (p0 + k) * ldb + j0;
      if (cols == NR) {
        for (int j = 0; j < NR; ++j) Bp[k * NR + j] = src[j];
      } else {
        for (int j = 0; j < NR; ++j) Bp[k * NR + j] = j < cols ? src[j] : T(0);
      }
    }
  }
}

// A per-thread, 64-byte aligned scratch buffer that only grows: packing reuses it across calls.
// slot 0 holds the calling thread's A block, slot 1 the B block shared by the team.
template <class T>
static T* scratch(int slot, int64_t count) {
  struct Buffer {
    void* p = nullptr;
    size_t bytes = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buffers[2];
  Buffer& buf = buffers[slot];
  const size_t need = (static_cast<size_t>(count) * sizeof(T) + 63) / 64 * 64;
  if (need > buf.bytes) {
    std::free(buf.p);
    buf.p = std::aligned_alloc(64, need);
    if (!buf.p) throw std::bad_alloc();
    buf.bytes = need;
  }
  return static_cast<T*>(buf.p);
}

// ---- the blocked driver -------------------------------------------------------------------------

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

template <class T>
static void scale_c(int64_t M, int64_t N, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
}

static void check_args(const char* name, bool ta, bool tb, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb,
                       int64_t ldc) {
  check(M >= 0 && N >= 0 && K >= 0, name, ": negative size M=", M, " N=", N, " K=", K);
  check(lda >= (ta ? M : K), name, ": lda=", lda, " is less than ", ta ? "M=" : "K=", ta ? M : K);
  check(ldb >= (tb ? K : N), name, ": ldb=", ldb, " is less than ", tb ? "K=" : "N=", tb ? K : N);
  check(ldc >= N, name, ": ldc=", ldc, " is less than N=", N);
}

// Loop nest. Every element of C gets the same sequence of operations whoever computes it:
// k-blocks of cfg.kc in increasing order, each summed by the micro-kernel and added onto C.
//
//   jc: column block of C, nc wide     pack op(B)[0:K, jc:jc+nc] into Bp, all k-blocks,
//                                      panels shared out among the team        -- barrier
//    ic: row block of mc rows           <- the team shares out the row blocks, or for small M
//                                          the column panels (jr)
//     pc: k-block of kc, in order      pack alpha*op(A)[ic:ic+mc, pc:pc+kc] into Ap (per thread)
//      jr: NR panel of Bp  (kc x NR, stays in L1)
//       ir: MR panel of Ap (Ap stays in L2)  -> micro-kernel: C tile += Ap panel * Bp panel
//                                                                              -- barrier
// Packing all of K for a column block (rather than one kc slice at a time) leaves two barriers
// per column block instead of two per k-block: cheaper for small problems, and one thread
// descheduled by the OS stalls the others less often.
namespace {

// The arguments of one sgemm / dgemm call (shapes in gemm.h), shared by the whole team.
template <class T>
struct GemmArgs {
  bool ta, tb;
  int64_t M, N, K;
  T alpha;
  const T* A;
  int64_t lda;
  const T* B;
  int64_t ldb;
  T beta;
  T* C;
  int64_t ldc;
};

// Block sizes of one call, the same for every thread.
struct Blocking {
  int64_t kc_max;    // k-block: cfg.kc, or K when smaller
  int64_t nc_max;    // widest column block
  int64_t m_panels;  // MR-row panels of C
};

// Column block: at most cfg.nc, and narrow enough that the packed K x nc block of B fits in
// cfg.b_bytes (it is read from L3 by every tile).
template <class T, int MR, int NR>
Blocking plan_blocks(const GemmConfig<T, MR, NR>& cfg, int64_t M, int64_t N, int64_t K) {
  constexpr int mr = MR, nr = NR;
  const int64_t kc_max = std::min(cfg.kc, K);
  const int64_t nc_fit = std::max<int64_t>(nr, cfg.b_bytes / int64_t(sizeof(T)) / K / nr * nr);
  const int64_t nc_max = std::min({cfg.nc, nc_fit, round_up(N, nr)});
  return {kc_max, nc_max, ceil_div(M, mr)};
}

// The row blocks of C and thread `tid`'s share of them.
struct RowBlocks {
  int64_t n_mb;        // row blocks, each a run of MR-row panels
  bool split_rows;     // true: the team shares out the row blocks; false: the column panels
  int64_t begin, end;  // this thread's row blocks
};

// Row blocks: the m_panels MR-row panels of C dealt out evenly to n_mb blocks of at most
// cfg.mc rows. With at least one full block per thread, each thread takes a range of row
// blocks (their count rounded up to a multiple of nt); otherwise (small M) each thread takes
// a range of column panels and all the row blocks.
template <class T, int MR, int NR>
RowBlocks share_row_blocks(const GemmConfig<T, MR, NR>& cfg, int64_t m_panels, int nt, int tid) {
  constexpr int mr = MR;
  int64_t n_mb = ceil_div(m_panels, std::max<int64_t>(1, cfg.mc / mr));
  const bool split_rows = n_mb >= nt;
  if (split_rows) n_mb = std::min(round_up(n_mb, nt), m_panels);
  const int64_t mb_begin = split_rows ? n_mb * tid / nt : 0;
  const int64_t mb_end = split_rows ? n_mb * (tid + 1) / nt : n_mb;
  return {n_mb, split_rows, mb_begin, mb_end};
}

// Thread tid's share of packing op(B)[0:K, jc:jc+nc] into Bp: its NR-column panels, all k-blocks.
// Bp holds the k-blocks one after another; k-block pc starts at Bp + pc * nc_pad and is
// n_panels panels of kc x NR.
template <int NR, class T>
void pack_b_block(const GemmArgs<T>& g, const Blocking& bk, int64_t jc, int64_t nc, int64_t n_panels, T* Bp, int nt,
                  int tid) {
  constexpr int nr = NR;
  const int64_t nc_pad = n_panels * nr;
  for (int64_t jp = n_panels * tid / nt; jp < n_panels * (tid + 1) / nt; ++jp) {
    const int64_t cols = std::min<int64_t>(nr, nc - jp * nr);
    for (int64_t pc = 0; pc < g.K; pc += bk.kc_max) {
      const int64_t kc = std::min(bk.kc_max, g.K - pc);
      pack_b_panel<NR>(g.tb, g.B, g.ldb, pc, kc, jc + jp * nr, cols, Bp + pc * nc_pad + jp * nr * kc);
    }
  }
}

// Rows [ic, ic+mcur) of C times the column panels [jp_begin, jp_end) of the packed block jc, one
// k-block after the other: pack alpha*op(A)[ic:ic+mcur, pc:pc+kc] into Ap, then one micro-kernel
// call per MR x NR tile.
template <class T, int MR, int NR>
void multiply_row_block(const GemmConfig<T, MR, NR>& cfg, const GemmArgs<T>& g, const Blocking& bk, int64_t ic,
                        int64_t mcur, int64_t jc, int64_t nc_pad, int64_t jp_begin, int64_t jp_end, T* Ap,
                        const T* Bp) {
  constexpr int mr = MR, nr = NR;
  for (int64_t pc = 0; pc < g.K; pc += bk.kc_max) {
    const int64_t kc = std::min(bk.kc_max, g.K - pc);
    const T beta_k = pc == 0 ? g.beta : T(1);  // later k-blocks accumulate onto C
    pack_a<MR>(g.ta, g.A, g.lda, ic, mcur, pc, kc, g.alpha, Ap);
    for (int64_t jp = jp_begin; jp < jp_end; ++jp) {
      const int64_t j = jc + jp * nr;
      const int n = static_cast<int>(std::min<int64_t>(nr, g.N - j));
      const T* b_panel = Bp + pc * nc_pad + jp * nr * kc;
      for (int64_t ip = 0; ip < mcur; ip += mr) {
        const int m = static_cast<int>(std::min<int64_t>(mr, mcur - ip));
        cfg.micro(kc, Ap + ip * kc, b_panel, g.C + (ic + ip) * g.ldc + j, g.ldc, m, n, beta_k);
      }
    }
  }
}

// The work of thread `tid` of a team of nt. The tiling may depend on nt: that decides who
// computes a tile, never how it is computed.
template <class T, int MR, int NR>
void team_work(const GemmConfig<T, MR, NR>& cfg, const GemmArgs<T>& g, const Blocking& bk, T* Bp, int nt, int tid) {
  constexpr int mr = MR, nr = NR;
  const RowBlocks rb = share_row_blocks(cfg, bk.m_panels, nt, tid);
  T* Ap = scratch<T>(0, ceil_div(bk.m_panels, rb.n_mb) * mr * bk.kc_max);

  for (int64_t jc = 0; jc < g.N; jc += bk.nc_max) {
    const int64_t nc = std::min(bk.nc_max, g.N - jc);
    const int64_t n_panels = ceil_div(nc, nr);
    const int64_t nc_pad = n_panels * nr;  // the width of one packed k-block of Bp
    pack_b_block<NR>(g, bk, jc, nc, n_panels, Bp, nt, tid);
    if (nt > 1) {
#pragma omp barrier
    }  // Bp is complete

    const int64_t jp_begin = rb.split_rows ? 0 : n_panels * tid / nt;
    const int64_t jp_end = rb.split_rows ? n_panels : n_panels * (tid + 1) / nt;
    for (int64_t ib = rb.begin; ib < rb.end; ++ib) {
      const int64_t ic = bk.m_panels * ib / rb.n_mb * mr;
      const int64_t mcur = std::min(bk.m_panels * (ib + 1) / rb.n_mb * mr, g.M) - ic;
      multiply_row_block(cfg, g, bk, ic, mcur, jc, nc_pad, jp_begin, jp_end, Ap, Bp);
    }
    if (nt > 1) {
#pragma omp barrier
    }  // nobody still reads Bp when the next column block is packed
  }
}

}  // namespace

template <class T, int MR, int NR>
static void gemm_blocked(const GemmConfig<T, MR, NR>& cfg, bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha,
                         const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == T(0)) return scale_c(M, N, beta, C, ldc);

  const GemmArgs<T> g{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  const Blocking bk = plan_blocks(cfg, M, N, K);
  T* Bp = scratch<T>(1, K * bk.nc_max);

  // Small problems, and calls from inside a parallel region, stay on this thread without
  // touching OpenMP at all (even an inactive parallel region costs microseconds).
  if (M * N * K < kMinParallelWork || omp_in_parallel() || omp_get_max_threads() == 1) {
    team_work(cfg, g, bk, Bp, 1, 0);
  } else {
#pragma omp parallel
    team_work(cfg, g, bk, Bp, omp_get_num_threads(), omp_get_thread_num());
  }
}

// ---- public entry points ------------------------------------------------------------------------

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  check_args("sgemm", trans_a, trans_b, M, N, K, lda, ldb, ldc);
  if (isa() == Isa::avx512) gemm_blocked(kAvx512F32, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else if (isa() == Isa::avx2) gemm_blocked(kAvx2F32, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else gemm_blocked(kPortableF32, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void dgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
           const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  check_args("dgemm", trans_a, trans_b, M, N, K, lda, ldb, ldc);
  if (isa() == Isa::avx512) gemm_blocked(kAvx512F64, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else gemm_blocked(kPortableF64, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace dg::kernels
