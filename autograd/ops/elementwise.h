// Element-wise ops with NumPy broadcasting. Every op is differentiable; f16/bf16 inputs compute in f32
// and round the result back. Binary ops need both operands of the same dtype.
#pragma once
#include "autograd/tensor.h"

namespace dg {

Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a + alpha*b
Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a - alpha*b
Tensor mul(const Tensor& a, const Tensor& b);                      // a * b
Tensor div(const Tensor& a, const Tensor& b);                      // a / b (true division)
Tensor minimum(const Tensor& a, const Tensor& b);                  // element-wise min (NaN propagates)
Tensor maximum(const Tensor& a, const Tensor& b);                  // element-wise max (NaN propagates)
Tensor pow(const Tensor& a, const Tensor& exponent);               // a ^ exponent
Tensor pow(const Tensor& a, double exponent);
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);  // condition ? a : b

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor atan(const Tensor& x);  // dx = g / (1 + x^2)
// atan(w / h) defined everywhere: +-pi/2 at h = 0 (the sign of w), 0 at w = h = 0; gradient
// (g h, -g w) / (w^2 + h^2), 0 at w = h = 0. w, h: one shape, one floating dtype. (CIoU's finite
// aspect angle, detectors/iou.h.)
Tensor atan_ratio(const Tensor& w, const Tensor& h);
// clamp to [lo, hi]; either bound may be absent (NaN means "no bound").
Tensor clamp(const Tensor& x, double lo, double hi);
Tensor clamp_min(const Tensor& x, double lo);
Tensor clamp_max(const Tensor& x, double hi);

// Scalar operands take the tensor's dtype.
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);

// Comparisons (no gradient): bool tensors, broadcasting.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor logical_not(const Tensor& mask);
Tensor sign(const Tensor& x);  // -1, 0, 1 (no gradient)

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return div(a, b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
inline Tensor operator+(double a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(double a, const Tensor& b) { return add(neg(b), a); }

}  // namespace dg
