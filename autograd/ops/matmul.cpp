// Shape legend: a [B..., M, K] @ b [B..., K, N] -> out [B..., M, N] (B... broadcast).
// out = a @ b
// da = g @ b^T (summed over broadcast batch dims),  db = a^T @ g
#include "autograd/ops/matmul.h"

#include "autograd/autocast.h"
#include "autograd/kernels/gemm.h"
#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/shape.h"

namespace dg {
using namespace ops_detail;

static void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float* C, int64_t ldc) {
  kernels::sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
}
static void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* A, int64_t lda, const double* B,
                 int64_t ldb, double* C, int64_t ldc) {
  kernels::dgemm(ta, tb, M, N, K, 1.0, A, lda, B, ldb, 0.0, C, ldc);
}

// Batched product with equal batch shapes; each batch entry is one GEMM call (which parallelises
// internally), so results do not depend on the thread count.
Tensor bmm_t(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  check(a.dim() >= 2 && b.dim() >= 2 && a.dim() == b.dim(), "bmm: expected operands of equal rank >= 2, got ",
        shape_text(a.shape()), " and ", shape_text(b.shape()));
  require_same_dtype("matmul", a, b);
  const int64_t r = a.dim();
  for (int64_t i = 0; i < r - 2; ++i)
    check(a.shape()[(size_t)i] == b.shape()[(size_t)i], "bmm: batch dims differ: ", shape_text(a.shape()), " and ",
          shape_text(b.shape()));
  const int64_t ar = a.shape()[(size_t)r - 2], ac = a.shape()[(size_t)r - 1];
  const int64_t br = b.shape()[(size_t)r - 2], bc = b.shape()[(size_t)r - 1];
  const int64_t M = ta ? ac : ar, K = ta ? ar : ac, Kb = tb ? bc : br, N = tb ? br : bc;
  check(K == Kb, "matmul: inner dimensions differ: ", shape_text(a.shape()), " @ ", shape_text(b.shape()));
  Shape out_shape(a.shape().begin(), a.shape().end() - 2);
  int64_t batch = shape_numel(out_shape);
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::empty(out_shape, a.dtype());
  DG_DISPATCH_FLOAT(a.dtype(), "matmul", T, {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    for (int64_t i = 0; i < batch; ++i) {
      gemm(ta, tb, M, N, K, pa + i * ar * ac, ac, pb + i * br * bc, bc, po + i * M * N, N);
    }
  });
  return out;
}

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  check(a_in.dim() >= 1 && b_in.dim() >= 1, "matmul: both arguments need at least 1 dimension, got ",
        shape_text(a_in.shape()), " @ ", shape_text(b_in.shape()));
  if (amp::autocast_enabled()) {  // autocast: a low-precision op (NOTE [ Autocast hooks ] in autograd/autocast.h)
    Tensor a = amp::autocast_low(a_in), b = amp::autocast_low(b_in);
    amp::NoAutocast off;
    return matmul(a, b);
  }
  if (is_half(a_in.dtype()) || is_half(b_in.dtype())) {
    require_same_dtype("matmul", a_in, b_in);
    return matmul(a_in.to(DType::f32), b_in.to(DType::f32)).to(a_in.dtype());
  }
  require_same_dtype("matmul", a_in, b_in);
  // 1-D operands become matrices; the added dims are removed from the result at the end.
  const bool a_vec = a_in.dim() == 1, b_vec = b_in.dim() == 1;
  Tensor a = a_vec ? unsqueeze(a_in, 0) : a_in;
  Tensor b = b_vec ? unsqueeze(b_in, 1) : b_in;
  const int64_t K = a.shape().back(), Kb = b.shape()[b.shape().size() - 2];
  check(K == Kb, "matmul: inner dimensions differ: ", shape_text(a_in.shape()), " @ ", shape_text(b_in.shape()));
  // Broadcast batch dims, then flatten them to one.
  Shape ab(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes("matmul", ab, bb);
  auto full = [&](const Tensor& t, const Shape& tb) {
    Shape s = batch;
    s.push_back(t.shape()[t.shape().size() - 2]);
    s.push_back(t.shape().back());
    Tensor e = tb == batch ? t : expand(t, s);
    Shape flat{shape_numel(batch), s[s.size() - 2], s.back()};
    return reshape(e, flat);
  };
  Tensor a3 = full(a, ab), b3 = full(b, bb);
  Tensor out = bmm_t(a3.detach(), b3.detach(), false, false);
  Tensor sa = a3.detach(), sb = b3.detach();
  bool ga = a3.requires_grad(), gb = b3.requires_grad();
  out = record("matmul", out, {a3, b3}, [sa, sb, ga, gb](const Tensor& g) {
    return grads({ga ? bmm_t(g, sb, false, true) : Tensor(), gb ? bmm_t(sa, g, true, false) : Tensor()});
  });
  Shape out_shape = batch;
  if (!a_vec) out_shape.push_back(a.shape()[a.shape().size() - 2]);
  if (!b_vec) out_shape.push_back(b.shape().back());
  return reshape(out, out_shape);
}

// out = x @ w^T + b  (torch.nn.functional.linear): x [..., in], w [out, in], b [out] -> [..., out]
// Gradients come from matmul's and add's. One op so that autocast treats the whole of it as a
// low-precision op (bias rounded too, added in f32, the output rounded once), as PyTorch's linear.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check(x.defined() && w.defined(), "linear: input and weight must be defined");
  check(w.dim() == 2 && x.dim() >= 1 && x.size(-1) == w.size(1), "linear: input ", shape_text(x.shape()),
        " does not match weight [out, in] ", shape_text(w.shape()));
  check(!b.defined() || b.shape() == Shape{w.size(0)}, "linear: bias ", shape_text(b.defined() ? b.shape() : Shape{}),
        " must be [", w.size(0), "]");
  if (amp::autocast_enabled()) {  // autocast: a low-precision op
    Tensor xl = amp::autocast_low(x), wl = amp::autocast_low(w), bl = amp::autocast_low(b);
    amp::NoAutocast off;
    return linear(xl, wl, bl);
  }
  if (is_half(x.dtype()))  // f16/bf16: compute in f32, round the output once
    return linear(x.to(DType::f32), w.to(DType::f32), b.defined() ? b.to(DType::f32) : b).to(x.dtype());
  Tensor y = matmul(x, transpose(w, 0, 1));
  return b.defined() ? add(y, b) : y;
}

}  // namespace dg
