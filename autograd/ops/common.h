// Helpers shared by the op files (not part of the public op API).
#pragma once
#include <vector>

#include "autograd/graph.h"
#include "autograd/kernels/broadcast.h"
#include "autograd/tensor.h"

namespace dg::ops_detail {

// Runs BODY with T bound to float or double according to a compute dtype (f32 / f64).
#define DG_DISPATCH_FLOAT(DT, OPNAME, T, ...)                                                      \
  switch (DT) {                                                                                    \
    case ::dg::DType::f32: {                                                                       \
      using T = float;                                                                             \
      __VA_ARGS__;                                                                                 \
      break;                                                                                       \
    }                                                                                              \
    case ::dg::DType::f64: {                                                                       \
      using T = double;                                                                            \
      __VA_ARGS__;                                                                                 \
      break;                                                                                       \
    }                                                                                              \
    default: ::dg::fail(OPNAME, ": expected a floating-point tensor, got ", ::dg::dtype_name(DT)); \
  }

// Normalises a possibly negative dim against rank n ("sum: dim 3 out of range for shape [2,3]").
int64_t wrap_dim(const char* op, int64_t dim, const Tensor& t);
int64_t wrap_dim(const char* op, int64_t dim, int64_t rank, const Shape& shape_for_msg);

// NumPy broadcasting of two shapes; throws "<op>: shapes [..] and [..] cannot be broadcast".
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
// Element strides of `in` when read as `out` (0 where broadcast). `in` must broadcast to `out`.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);
// Contiguous strides of a shape.
std::vector<int64_t> contiguous_strides(const Shape& s);

// Floating-point check with an op name in the message.
void require_floating(const char* op, const Tensor& t, const char* arg = "input");
// Two tensors of the same dtype ("add: dtype mismatch: f32 and f64").
void require_same_dtype(const char* op, const Tensor& a, const Tensor& b);

// The dtype arithmetic runs in: f16/bf16 compute in f32.
inline DType compute_dtype(DType t) { return is_half(t) ? DType::f32 : t; }

// A shape-[] tensor of t's dtype.
inline Tensor scalar_like(const Tensor& t, double v) { return scalar_tensor(v, t.dtype()); }

// ---- element-wise maps (no graph: callers record their own Node) ----
// out = f(a, b) in the compute dtype of a (f32 or f64), broadcasting.
template <class F>
Tensor binary_map(const char* op, const Tensor& a, const Tensor& b, F f) {
  require_same_dtype(op, a, b);
  Shape out_shape = broadcast_shapes(op, a.shape(), b.shape());
  Tensor out = Tensor::empty(out_shape, a.dtype());
  auto sa = broadcast_strides(a.shape(), out_shape), sb = broadcast_strides(b.shape(), out_shape);
  DG_DISPATCH_FLOAT(a.dtype(), op, T,
    kernels::broadcast_binary(out_shape, a.data<T>(), sa.data(), b.data<T>(), sb.data(), out.data<T>(),
                              [&](T x, T y) { return (T)f(x, y); }));
  return out;
}

template <class F>
Tensor unary_map(const char* op, const Tensor& x, F f) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  DG_DISPATCH_FLOAT(x.dtype(), op, T,
    kernels::map_unary(x.data<T>(), out.data<T>(), x.numel(), [&](T v) { return (T)f(v); }));
  return out;
}

inline std::vector<Tensor> grads(std::initializer_list<Tensor> g) { return std::vector<Tensor>(g); }

}  // namespace dg::ops_detail
