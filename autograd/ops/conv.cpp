// conv2d and conv_transpose2d (docs/conv.md).
//
// Shape legend (of the conv2d view; conv_transpose2d swaps the roles, see below)
//   x [N, C, H, W]  w [O, Cg, kh, kw]  out [N, O, Ho, Wo]    Cg = C/groups, Og = O/groups
//   P = Ho*Wo output positions per image,  K = Cg*kh*kw  rows of one group's column matrix
//
// Three computations do all the work, each for one group at a time:
//   forward       out_g [Og, P] = w_g [Og, K] @ cols_g [K, P]           cols = im2col(x)
//   input grad    dx_g          = col2im(w_g^T [K, Og] @ g_g [Og, P])
//   weight grad   dw_g [Og, K]  = sum_n g_g [Og, P] @ cols_g^T [P, K]
// with two shortcuts: a 1x1 / stride-1 / pad-0 conv needs no im2col (the input plane [Cg, H*W] IS the
// column matrix), and a depthwise conv (groups == C) runs the direct kernels of
// autograd/kernels/depthwise.h.
// conv_transpose2d is the same three computations with input and output exchanged: its forward is
// the input gradient of a conv2d whose output has the transposed conv's input shape, and its input
// gradient is that conv2d's forward.
#include "autograd/ops/conv.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <sstream>
#include <utility>
#include <vector>

#include "autograd/autocast.h"
#include "autograd/kernels/depthwise.h"
#include "autograd/kernels/gemm.h"
#include "autograd/kernels/im2col.h"
#include "autograd/ops/common.h"
#include "autograd/ops/shape.h"

namespace dg {
using namespace ops_detail;
using kernels::ConvGeom;

namespace {

// One conv2d-shaped problem (for conv_transpose2d: the conv2d it is the adjoint of).
struct ConvProblem {
  int64_t N = 0, C = 0, O = 0, groups = 1;
  ConvGeom g;
  int64_t Cg() const { return C / groups; }
  int64_t Og() const { return O / groups; }
  int64_t K() const { return Cg() * g.kh * g.kw; }
  int64_t P() const { return g.P(); }
  // the input plane is already the column matrix. The plane sizes must agree too: conv_transpose2d's
  // output_padding (allowed below the dilation even for a 1x1 kernel) adds rows that no column reaches.
  bool pointwise() const {
    return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && g.Ho == g.H && g.Wo == g.W;
  }
  // one filter group per input channel: direct kernels
  bool depthwise() const { return groups == C && groups > 1; }
};

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
          float beta, float* C, int64_t ldc) {
  kernels::sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* A, int64_t lda, const double* B, int64_t ldb,
          double beta, double* C, int64_t ldc) {
  kernels::dgemm(ta, tb, M, N, K, 1.0, A, lda, B, ldb, beta, C, ldc);
}

// NOTE [ Conv scratch buffers ]
// Every work item needs a column block (up to K x 1024 values, e.g. 576 x 384 floats = 0.9 MB for a
// 64-channel 3x3 conv). Allocating it per item would touch fresh pages every time, so each thread
// keeps one growing buffer for the life of the thread.
template <class T>
T* scratch(int64_t count) {
  struct Buffer {
    void* p = nullptr;
    size_t bytes = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer b;
  const size_t need = ((size_t)count * sizeof(T) + 63) / 64 * 64;
  if (need > b.bytes) {
    std::free(b.p);
    b.p = std::aligned_alloc(64, need);
    if (!b.p) throw std::bad_alloc();
    b.bytes = need;
  }
  return static_cast<T*>(b.p);
}

bool go_parallel(int64_t work) { return work >= kernels::kParallelMin && !omp_in_parallel(); }

// NOTE [ Conv work split ]
// Think of the columns of all images side by side: one matrix cols [K, N*P]. The work is cut into
// chunks of its columns, each small enough (about 512 KB of columns, but at least 384 columns) to stay
// in L2 between im2col writing it and GEMM reading it: a range of output positions of one image, or,
// when an image has fewer positions than a chunk (deep layers: 512 x 7x7 has P = 49), several whole
// images. With
// several images per chunk the GEMM operands out and grad are used in the layout [O, N*P]
// (a transposed copy of [N, O, P]), so each chunk is one ordinary GEMM.
// Threads take independent work items (a chunk, a block of rows, ...) and each item calls a
// single-threaded GEMM: no barriers inside the loop. Every output element is computed by exactly
// one item with the same GEMM arithmetic whoever runs it; the weight gradient, a sum over chunks,
// visits the chunks in their fixed order. Chunks depend on the shapes only, so the bits never depend
// on the thread count (only who computes which item does, and how finely rows are split into items).
struct Chunk {
  int64_t n0, nb;  // images n0 .. n0+nb-1
  int64_t p0, p1;  // output positions [p0, p1) of each of them (the whole image when nb > 1)
  int64_t width() const { return nb * (p1 - p0); }
};

struct Chunking {
  std::vector<Chunk> chunks;
  bool multi = false;                            // chunks of several whole images: [O, N*P] layouts
  std::vector<std::pair<size_t, size_t>> units;  // chunk ranges [begin, end) covering the same images
};

Chunking make_chunks(int64_t N, int64_t P, int64_t K, size_t elem, bool allow_multi) {
  constexpr int64_t kChunkBytes = 512 << 10;
  // columns: as many as fit the budget, but at least 384 (each GEMM call repacks its block of the
  // weight: a narrow chunk would spend more time packing than multiplying)
  const int64_t target = std::clamp<int64_t>(kChunkBytes / (int64_t)elem / K, 384, 1024);
  Chunking c;
  if (P >= target || !allow_multi || N <= 1) {
    const int64_t pieces = (P + target - 1) / target;
    for (int64_t n = 0; n < N; ++n) {
      c.units.push_back({c.chunks.size(), c.chunks.size() + (size_t)pieces});
      for (int64_t q = 0; q < pieces; ++q) c.chunks.push_back({n, 1, P * q / pieces, P * (q + 1) / pieces});
    }
    return c;
  }
  c.multi = true;
  int64_t nb = std::clamp<int64_t>((target + P / 2) / P, 1, N);
  const int64_t count = (N + nb - 1) / nb;
  nb = (N + count - 1) / count;  // spread the images evenly
  for (int64_t n0 = 0; n0 < N; n0 += nb) {
    c.units.push_back({c.chunks.size(), c.chunks.size() + 1});
    c.chunks.push_back({n0, std::min(nb, N - n0), 0, P});
  }
  return c;
}

// Runs f(0) .. f(n-1) on the OpenMP team (dynamic schedule), or in order on this thread when there
// is a single item (the kernels inside then use the threads themselves).
template <class F>
void run_items(int64_t n, F&& f) {
  if (n >= 2 && omp_get_max_threads() > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < n; ++i) f(i);
  } else {
    for (int64_t i = 0; i < n; ++i) f(i);
  }
}

// How many blocks to cut `base` items' worth of rows into so that the team has at least two items
// per thread (the count never changes any result, only the work split).
int64_t blocks_for(int64_t base, int64_t rows, int64_t min_rows) {
  if (base <= 0) return 1;
  const int64_t want = (2 * omp_get_max_threads() + base - 1) / base;
  return std::clamp<int64_t>(want, 1, std::max<int64_t>(1, rows / min_rows));
}

// [N, R, P] -> [R, N*P], or back to [N, R, P] when to_nrp.
template <class T>
void permute_nr(const T* src, int64_t N, int64_t R, int64_t P, T* dst, bool to_nrp) {
#pragma omp parallel for schedule(static) if (go_parallel(N * R * P))
  for (int64_t rn = 0; rn < R * N; ++rn) {
    const int64_t r = rn / N, n = rn % N;
    const T* a = to_nrp ? src + rn * P : src + (n * R + r) * P;
    T* b = to_nrp ? dst + (n * R + r) * P : dst + rn * P;
    std::copy(a, a + P, b);
  }
}

// The GEMM operand for rows [row0, ..) of t [N, R, P] over chunk ch: a pointer and its row stride,
// reading the [R, N*P] copy tt for multi-image chunks.
template <class T>
std::pair<T*, int64_t> operand(T* t, T* tt, int64_t N, int64_t R, int64_t P, const Chunk& ch, int64_t row0,
                               bool multi) {
  if (multi) return {tt + row0 * N * P + ch.n0 * P, N * P};
  return {t + (ch.n0 * R + row0) * P + ch.p0, P};
}

// ---- forward: out [N, O, P] = conv(x, w), no bias ---------------------------------------------
// Item = (group, chunk, block of output channels): cols = im2col(chunk), out_block = w_block @ cols.
template <class T>
void conv_forward(const ConvProblem& pb, const T* x, const T* w, T* out) {
  const ConvGeom& g = pb.g;
  const int64_t N = pb.N, C = pb.C, O = pb.O, Cg = pb.Cg(), Og = pb.Og(), K = pb.K(), P = pb.P(), HW = g.H * g.W;
  if (pb.depthwise()) return kernels::depthwise_forward(x, w, (const T*)nullptr, N, C, O / C, g, out);
  const bool pw = pb.pointwise();
  const Chunking ck = make_chunks(N, P, K, sizeof(T), /*allow_multi=*/!pw);
  const int64_t nch = (int64_t)ck.chunks.size();
  std::vector<T> ot(ck.multi ? (size_t)(O * N * P) : 0);  // [O, N*P] when chunks hold several images
  const int64_t ob = blocks_for(pb.groups * nch, Og, 16);
  // Few chunks of whole images (deep layers) are shared by several output-channel blocks: build their
  // columns once, up front (im2col parallelises over rows itself), instead of once per block.
  std::vector<T> shared;
  const int64_t slot = nch > 0 ? K * ck.chunks[0].width() : 0;  // per (group, chunk); the first chunk is the widest
  if (!pw && ck.multi && ob > 1) {
    shared.resize((size_t)(pb.groups * nch * slot));
    for (int64_t gi = 0; gi < pb.groups; ++gi)
      for (int64_t ci = 0; ci < nch; ++ci) {
        const Chunk& ch = ck.chunks[(size_t)ci];
        for (int64_t b = 0; b < ch.nb; ++b)
          kernels::im2col(x + ((ch.n0 + b) * C + gi * Cg) * HW, Cg, g, shared.data() + (gi * nch + ci) * slot + b * P,
                          ch.width());
      }
  }
  run_items(pb.groups * nch * ob, [&](int64_t it) {
    const int64_t gi = it / (nch * ob), ci = (it / ob) % nch, bi = it % ob;
    const Chunk& ch = ck.chunks[(size_t)ci];
    const int64_t o0 = Og * bi / ob, o1 = Og * (bi + 1) / ob, wd = ch.width();
    const T* B = x + (ch.n0 * C + gi * Cg) * HW + ch.p0;  // 1x1: the input plane is the column matrix
    int64_t ldb = HW;
    if (!shared.empty()) {
      B = shared.data() + (gi * nch + ci) * slot, ldb = wd;
    } else if (!pw) {
      T* cols = scratch<T>(K * wd);
      for (int64_t b = 0; b < ch.nb; ++b)
        kernels::im2col_block(x + ((ch.n0 + b) * C + gi * Cg) * HW, g, 0, K, ch.p0, ch.p1, cols + b * (ch.p1 - ch.p0),
                              wd);
      B = cols, ldb = wd;
    }
    auto [Cp, ldc] = operand(out, ot.data(), N, O, P, ch, gi * Og + o0, ck.multi);
    gemm(false, false, o1 - o0, wd, K, w + (gi * Og + o0) * K, K, B, ldb, T(0), Cp, ldc);
  });
  if (ck.multi) permute_nr(ot.data(), N, O, P, out, /*to_nrp=*/true);
}

// ---- input gradient: dx [N, C, H, W] = conv^T(gout [N, O, P], w), overwritten --------------------
// Item = (group, the images of one chunk unit, block of input channels). The item owns those dx
// planes: dcols = w_g^T[rows of its channels] @ g_chunk, then col2im, chunk after chunk.
template <class T>
void conv_input_grad(const ConvProblem& pb, const T* gout, const T* w, T* dx) {
  const ConvGeom& g = pb.g;
  const int64_t N = pb.N, C = pb.C, O = pb.O, Cg = pb.Cg(), Og = pb.Og(), K = pb.K(), P = pb.P(), HW = g.H * g.W;
  const int64_t taps = g.kh * g.kw;
  if (pb.depthwise()) return kernels::depthwise_backward_input(gout, w, N, C, O / C, g, dx);
  const bool pw = pb.pointwise();
  const Chunking ck = make_chunks(N, P, K, sizeof(T), !pw);
  std::vector<T> gt(ck.multi ? (size_t)(O * N * P) : 0);
  if (ck.multi) permute_nr(gout, N, O, P, gt.data(), /*to_nrp=*/false);
  const int64_t nu = (int64_t)ck.units.size(), cb = blocks_for(pb.groups * nu, Cg, 1);
  run_items(pb.groups * nu * cb, [&](int64_t it) {
    const int64_t gi = it / (nu * cb), bi = it % cb;
    const auto [u0, u1] = ck.units[(size_t)((it / cb) % nu)];
    const int64_t c0 = Cg * bi / cb, c1 = Cg * (bi + 1) / cb, r0 = c0 * taps, r1 = c1 * taps;
    const Chunk& first = ck.chunks[u0];
    if (!pw)  // col2im accumulates: clear this item's planes
      for (int64_t n = first.n0; n < first.n0 + first.nb; ++n)
        std::fill(dx + (n * C + gi * Cg + c0) * HW, dx + (n * C + gi * Cg + c1) * HW, T(0));
    for (size_t ci = u0; ci < u1; ++ci) {
      const Chunk& ch = ck.chunks[ci];
      const int64_t wd = ch.width();
      auto [G, ldg] = operand(const_cast<T*>(gout), gt.data(), N, O, P, ch, gi * Og, ck.multi);
      if (pw) {  // dx rows are the dcols rows
        gemm(true, false, c1 - c0, wd, Og, w + gi * Og * K + c0, K, G, ldg, T(0),
             dx + (ch.n0 * C + gi * Cg + c0) * HW + ch.p0, HW);
        continue;
      }
      T* dcols = scratch<T>((r1 - r0) * wd);
      gemm(true, false, r1 - r0, wd, Og, w + gi * Og * K + r0, K, G, ldg, T(0), dcols, wd);
      for (int64_t b = 0; b < ch.nb; ++b)
        kernels::col2im_block(dcols + b * (ch.p1 - ch.p0), wd, g, r0, r1, ch.p0, ch.p1,
                              dx + ((ch.n0 + b) * C + gi * Cg) * HW);
    }
  });
}

// ---- weight gradient: dw [O, K] = sum over chunks of g_chunk @ cols_chunk^T, overwritten ---------
// Item = (group, block of rows of K): for every chunk, in order, im2col of just those rows and one
// GEMM accumulating onto dw (beta = 1 after the first chunk).
template <class T>
void conv_weight_grad(const ConvProblem& pb, const T* gout, const T* x, T* dw) {
  const ConvGeom& g = pb.g;
  const int64_t N = pb.N, C = pb.C, O = pb.O, Cg = pb.Cg(), Og = pb.Og(), K = pb.K(), P = pb.P(), HW = g.H * g.W;
  if (pb.depthwise()) return kernels::depthwise_backward_weight(gout, x, N, C, O / C, g, dw);
  if (N == 0) return std::fill(dw, dw + O * K, T(0));
  const bool pw = pb.pointwise();
  const Chunking ck = make_chunks(N, P, K, sizeof(T), !pw);
  std::vector<T> gt(ck.multi ? (size_t)(O * N * P) : 0);
  if (ck.multi) permute_nr(gout, N, O, P, gt.data(), /*to_nrp=*/false);
  // rows per block: at most 512, a multiple of the GEMM's 16-wide panels, and two blocks per thread
  const int64_t want = std::max<int64_t>((K + 511) / 512, blocks_for(pb.groups, K, 16));
  const int64_t rows = std::min(K, ((K + want - 1) / want + 15) / 16 * 16);
  const int64_t rb = (K + rows - 1) / rows;
  run_items(pb.groups * rb, [&](int64_t it) {
    const int64_t gi = it / rb, r0 = (it % rb) * rows, r1 = std::min(K, r0 + rows);
    for (size_t ci = 0; ci < ck.chunks.size(); ++ci) {
      const Chunk& ch = ck.chunks[ci];
      const int64_t wd = ch.width();
      const T* B = x + (ch.n0 * C + gi * Cg + r0) * HW + ch.p0;  // 1x1: rows of K are input channels
      int64_t ldb = HW;
      if (!pw) {
        T* cols = scratch<T>((r1 - r0) * wd);
        for (int64_t b = 0; b < ch.nb; ++b)
          kernels::im2col_block(x + ((ch.n0 + b) * C + gi * Cg) * HW, g, r0, r1, ch.p0, ch.p1,
                                cols + b * (ch.p1 - ch.p0), wd);
        B = cols, ldb = wd;
      }
      auto [G, ldg] = operand(const_cast<T*>(gout), gt.data(), N, O, P, ch, gi * Og, ck.multi);
      gemm(false, true, Og, r1 - r0, wd, G, ldg, B, ldb, ci == 0 ? T(0) : T(1), dw + gi * Og * K + r0, K);
    }
  });
}

// out[n, o, :] += b[o]
template <class T>
void add_bias(const T* b, int64_t N, int64_t O, int64_t P, T* out) {
#pragma omp parallel for schedule(static) if (go_parallel(N * O * P))
  for (int64_t no = 0; no < N * O; ++no) {
    const T bv = b[no % O];
    T* p = out + no * P;
    for (int64_t i = 0; i < P; ++i) p[i] += bv;
  }
}

// db[o] = sum_{n,p} g[n, o, p], in double, n then p: one thread per channel.
template <class T>
void bias_grad(const T* g, int64_t N, int64_t O, int64_t P, T* db) {
#pragma omp parallel for schedule(static) if (go_parallel(N * O * P))
  for (int64_t o = 0; o < O; ++o) {
    double acc = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* p = g + (n * O + o) * P;
      for (int64_t i = 0; i < P; ++i) acc += p[i];
    }
    db[o] = (T)acc;
  }
}

// ---- Tensor-level wrappers (no graph) -----------------------------------------------------------
Tensor forward_t(const ConvProblem& pb, const Tensor& x, const Tensor& w) {
  Tensor out = Tensor::empty({pb.N, pb.O, pb.g.Ho, pb.g.Wo}, x.dtype());
  DG_DISPATCH_FLOAT(x.dtype(), "conv2d", T, conv_forward<T>(pb, x.data<T>(), w.data<T>(), out.data<T>()));
  return out;
}
Tensor input_grad_t(const ConvProblem& pb, const Tensor& gout, const Tensor& w) {
  Tensor dx = Tensor::empty({pb.N, pb.C, pb.g.H, pb.g.W}, gout.dtype());
  DG_DISPATCH_FLOAT(gout.dtype(), "conv2d", T, conv_input_grad<T>(pb, gout.data<T>(), w.data<T>(), dx.data<T>()));
  return dx;
}
Tensor weight_grad_t(const ConvProblem& pb, const Tensor& gout, const Tensor& x) {
  Tensor dw = Tensor::empty({pb.O, pb.Cg(), pb.g.kh, pb.g.kw}, gout.dtype());
  DG_DISPATCH_FLOAT(gout.dtype(), "conv2d", T, conv_weight_grad<T>(pb, gout.data<T>(), x.data<T>(), dw.data<T>()));
  return dw;
}
// bias over dim 1 of a [N, O, Ho, Wo] tensor
void add_bias_t(Tensor& out, const Tensor& b) {
  const int64_t N = out.size(0), O = out.size(1), P = out.size(2) * out.size(3);
  DG_DISPATCH_FLOAT(out.dtype(), "conv2d", T, add_bias<T>(b.data<T>(), N, O, P, out.data<T>()));
}
Tensor bias_grad_t(const Tensor& g) {
  const int64_t N = g.size(0), O = g.size(1), P = g.size(2) * g.size(3);
  Tensor db = Tensor::empty({O}, g.dtype());
  DG_DISPATCH_FLOAT(g.dtype(), "conv2d", T, bias_grad<T>(g.data<T>(), N, O, P, db.data<T>()));
  return db;
}

// ---- argument checks ----------------------------------------------------------------------------
std::string hw_str(Hw v) {
  std::ostringstream os;
  os << "(" << v.h << ", " << v.w << ")";
  return os.str();
}

// Common checks of conv2d and conv_transpose2d: ranks, dtypes, positive sizes, groups.
// wchan_in = which weight dim counts input channels per group (1 for conv2d, 0 for the transpose).
void check_common(const char* op, const Tensor& x, const Tensor& w, const Tensor& b, Hw stride, Hw padding, Hw dilation,
                  int64_t groups) {
  check(x.defined() && w.defined(), op, ": input and weight must be defined");
  check(x.dim() == 4, op, ": expected a 4-D input [N, C, H, W], got ", shape_text(x.shape()));
  check(w.dim() == 4, op, ": expected a 4-D weight, got ", shape_text(w.shape()));
  require_floating(op, x, "input");
  require_same_dtype(op, x, w);
  if (b.defined()) {
    require_same_dtype(op, x, b);
    check(b.dim() == 1, op, ": expected a 1-D bias, got ", shape_text(b.shape()));
  }
  check(stride.h > 0 && stride.w > 0, op, ": stride must be positive, got ", hw_str(stride));
  check(padding.h >= 0 && padding.w >= 0, op, ": padding must be non-negative, got ", hw_str(padding));
  check(dilation.h > 0 && dilation.w > 0, op, ": dilation must be positive, got ", hw_str(dilation));
  check(groups > 0, op, ": groups must be positive, got ", groups);
  check(x.size(1) > 0 && x.size(2) > 0 && x.size(3) > 0, op, ": input ", shape_text(x.shape()),
        " must have non-zero channels and spatial size");
  check(w.size(0) > 0 && w.size(1) > 0 && w.size(2) > 0 && w.size(3) > 0, op, ": weight ", shape_text(w.shape()),
        " has a zero dimension");
}

}  // namespace

// NOTE [ Half-precision convolutions ]
// f16/bf16 tensors are widened exactly to f32 compute copies, the f32 kernels run, and the result
// (and in backward each gradient) is rounded once to the half type. The node saves the caller's half
// tensors, not the f32 copies, so half activations keep half memory alive; the copies are temporary.
namespace {
Tensor widen_if(bool half, const Tensor& t) { return half && t.defined() ? t.detach().to(DType::f32) : t; }
Tensor narrow_if(bool half, const Tensor& t, DType dt) { return half ? t.to(dt) : t; }
}  // namespace

// ================================================================================================
// conv2d
// out = conv(x, w) + b
// dx = col2im(w^T g),  dw = sum_n g im2col(x)^T,  db = sum_{n,h,w} g
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Hw stride, Hw padding, Hw dilation,
              int64_t groups) {
  const char* op = "conv2d";
  if (amp::autocast_enabled()) {  // autocast: a low-precision op (NOTE [ Autocast hooks ] in autograd/autocast.h)
    Tensor x = amp::autocast_low(input), w = amp::autocast_low(weight), b = amp::autocast_low(bias);
    amp::NoAutocast off;
    return conv2d(x, w, b, stride, padding, dilation, groups);
  }
  check_common(op, input, weight, bias, stride, padding, dilation, groups);
  // f16/bf16 (NOTE [ Half-precision convolutions ] below): compute copies in f32, half tensors saved.
  const DType dt = input.dtype();
  const bool half = is_half(dt);
  const Tensor xc = widen_if(half, input), wc = widen_if(half, weight), bc = widen_if(half, bias);
  const Shape& xs = input.shape();
  const Shape& ws = weight.shape();
  ConvProblem pb;
  pb.N = xs[0], pb.C = xs[1], pb.O = ws[0], pb.groups = groups;
  check(pb.C % groups == 0, op, ": input channels ", pb.C, " (input ", shape_text(xs),
        ") not divisible by groups=", groups);
  check(pb.O % groups == 0, op, ": output channels ", pb.O, " (weight ", shape_text(ws),
        ") not divisible by groups=", groups);
  check(ws[1] * groups == pb.C, op, ": weight ", shape_text(ws), " expects ", ws[1] * groups, " input channels (",
        ws[1], " per group x groups=", groups, "), input ", shape_text(xs), " has ", pb.C);
  if (bias.defined())
    check(bias.size(0) == pb.O, op, ": bias ", shape_text(bias.shape()), " must have ", pb.O, " entries (weight ",
          shape_text(ws), ")");
  ConvGeom& g = pb.g;
  g.H = xs[2], g.W = xs[3], g.kh = ws[2], g.kw = ws[3];
  g.sh = stride.h, g.sw = stride.w, g.ph = padding.h, g.pw = padding.w, g.dh = dilation.h, g.dw = dilation.w;
  g.Ho = kernels::conv_out_size(g.H, g.kh, g.sh, g.ph, g.dh);
  g.Wo = kernels::conv_out_size(g.W, g.kw, g.sw, g.pw, g.dw);
  check(g.Ho > 0 && g.Wo > 0, op, ": input ", shape_text(xs), " with padding ", hw_str(padding),
        " is smaller than the ", "dilated kernel (weight ", shape_text(ws), ", dilation ", hw_str(dilation),
        "): output would be ", g.Ho, "x", g.Wo);

  Tensor out = forward_t(pb, xc, wc);
  if (bias.defined()) add_bias_t(out, bc);
  if (half) out = out.to(dt);

  Tensor sx = input.detach(), sw = weight.detach();
  const bool gx = input.requires_grad(), gw = weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
  return record(op, out, {input, weight, bias}, [pb, sx, sw, gx, gw, gb, half, dt](const Tensor& gout) {
    const Tensor g = widen_if(half, gout), x = widen_if(half, sx), w = widen_if(half, sw);
    return grads({gx ? narrow_if(half, input_grad_t(pb, g, w), dt) : Tensor(),
                  gw ? narrow_if(half, weight_grad_t(pb, g, x), dt) : Tensor(),
                  gb ? narrow_if(half, bias_grad_t(g), dt) : Tensor()});
  });
}

// padding="valid" | "same" (PyTorch: "same" needs stride 1; odd total padding puts the extra at the end).
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Hw stride, Padding padding, Hw dilation,
              int64_t groups) {
  if (padding == Padding::valid) return conv2d(input, weight, bias, stride, Hw(0), dilation, groups);
  check(stride == Hw(1), "conv2d: padding='same' is not supported for strided convolutions (stride ", hw_str(stride),
        ")");
  check(weight.defined() && weight.dim() == 4, "conv2d: expected a 4-D weight");
  const int64_t th = dilation.h * (weight.size(2) - 1), tw = dilation.w * (weight.size(3) - 1);  // total padding
  if (th % 2 == 0 && tw % 2 == 0) return conv2d(input, weight, bias, stride, Hw(th / 2, tw / 2), dilation, groups);
  check(input.defined() && input.dim() == 4, "conv2d: expected a 4-D input [N, C, H, W], got ",
        input.defined() ? shape_str(input.shape()) : "undefined");
  // asymmetric: pad the smaller half on both sides in the conv, the odd extra row/column explicitly
  Tensor x = pad(input, {0, tw % 2, 0, th % 2});
  return conv2d(x, weight, bias, stride, Hw(th / 2, tw / 2), dilation, groups);
}

// ================================================================================================
// conv_transpose2d: the adjoint of conv2d(y; w) : [N, O, Ho, Wo] -> [N, C, H, W], where this op's
// input is [N, C, H, W] and w [C, O/groups, kh, kw] is that conv2d's weight [O', C'/groups, kh, kw]
// with O' = C (our input channels), C' = O (our output channels).
// out = conv2d_input_grad(x; w) + b
// dx = conv2d(g; w),  dw = conv2d_weight_grad(grad = x, input = g),  db = sum_{n,h,w} g
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Hw stride, Hw padding,
                        Hw output_padding, int64_t groups, Hw dilation) {
  const char* op = "conv_transpose2d";
  if (amp::autocast_enabled()) {  // autocast: a low-precision op
    Tensor x = amp::autocast_low(input), w = amp::autocast_low(weight), b = amp::autocast_low(bias);
    amp::NoAutocast off;
    return conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation);
  }
  check_common(op, input, weight, bias, stride, padding, dilation, groups);
  const DType dt = input.dtype();  // f16/bf16: as conv2d (NOTE [ Half-precision convolutions ])
  const bool half = is_half(dt);
  const Tensor xc = widen_if(half, input), wc = widen_if(half, weight), bc = widen_if(half, bias);
  const Shape& xs = input.shape();
  const Shape& ws = weight.shape();
  check(output_padding.h >= 0 && output_padding.w >= 0, op, ": output_padding must be non-negative, got ",
        hw_str(output_padding));
  check((output_padding.h < stride.h || output_padding.h < dilation.h) &&
            (output_padding.w < stride.w || output_padding.w < dilation.w),
        op, ": output_padding ", hw_str(output_padding), " must be smaller than either stride ", hw_str(stride),
        " or dilation ", hw_str(dilation));
  check(xs[1] % groups == 0, op, ": input channels ", xs[1], " (input ", shape_text(xs),
        ") not divisible by groups=", groups);
  check(ws[0] == xs[1], op, ": weight ", shape_text(ws), " expects ", ws[0], " input channels, input ", shape_text(xs),
        " has ", xs[1]);
  ConvProblem pb;  // the conv2d whose adjoint this is
  pb.N = xs[0], pb.O = xs[1], pb.C = ws[1] * groups, pb.groups = groups;
  if (bias.defined())
    check(bias.size(0) == pb.C, op, ": bias ", shape_text(bias.shape()), " must have ", pb.C, " entries (weight ",
          shape_text(ws), ", groups=", groups, ")");
  ConvGeom& g = pb.g;
  g.kh = ws[2], g.kw = ws[3];
  g.sh = stride.h, g.sw = stride.w, g.ph = padding.h, g.pw = padding.w, g.dh = dilation.h, g.dw = dilation.w;
  g.Ho = xs[2], g.Wo = xs[3];  // the conv2d's output is our input
  g.H = (xs[2] - 1) * g.sh - 2 * g.ph + g.dh * (g.kh - 1) + output_padding.h + 1;
  g.W = (xs[3] - 1) * g.sw - 2 * g.pw + g.dw * (g.kw - 1) + output_padding.w + 1;
  check(g.H > 0 && g.W > 0, op, ": output size ", g.H, "x", g.W, " is not positive (input ", shape_text(xs),
        ", weight ", shape_text(ws), ", stride ", hw_str(stride), ", padding ", hw_str(padding), ")");

  Tensor out = input_grad_t(pb, xc, wc);
  if (bias.defined()) add_bias_t(out, bc);
  if (half) out = out.to(dt);

  Tensor sx = input.detach(), sw = weight.detach();
  const bool gx = input.requires_grad(), gw = weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
  return record(op, out, {input, weight, bias}, [pb, sx, sw, gx, gw, gb, half, dt](const Tensor& gout) {
    const Tensor g = widen_if(half, gout), x = widen_if(half, sx), w = widen_if(half, sw);
    return grads({gx ? narrow_if(half, forward_t(pb, g, w), dt) : Tensor(),
                  gw ? narrow_if(half, weight_grad_t(pb, x, g), dt) : Tensor(),
                  gb ? narrow_if(half, bias_grad_t(g), dt) : Tensor()});
  });
}

}  // namespace dg
