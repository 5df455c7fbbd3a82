// Autocast: a scope inside which the compute-heavy ops run in emulated mixed precision, as PyTorch's
// torch.autocast does on a GPU with tensor cores. Three op classes (full lists: docs/mixed_precision.md):
//   low-precision ops (matmul, linear, conv2d, conv_transpose2d): floating inputs are rounded to the
//     low dtype L (f16 or bf16), the products accumulate in f32, the output is rounded to L:
//       y = round_L( sum_k f32(round_L(a_ik)) * f32(round_L(b_kj)) )
//   f32 ops (norms, softmax/log_softmax, losses, sum/mean/var, exp/log/pow, softplus, interpolate):
//     half inputs are widened to f32 first (exactly; every f16/bf16 value is an f32 value);
//   everything else keeps its input type; binary ops, where and cat with mixed floating types run
//     in the widest one (f16 + f32 -> f32, as PyTorch's promotion; outside a scope that is an error).
// The casts are ordinary differentiable Tensor::to calls, so gradients flow through them and the f32
// parameters (the master weights) receive f32 gradients.
//
// The state is thread-local (like PyTorch's): a scope on one thread does not change another thread's
// ops, and the data-loader workers never see it. Scopes nest; the destructor restores the outer state.
//
//   {
//     dg::amp::Autocast ac(dg::DType::f16);   // autocast on, low dtype f16
//     Tensor logits = model.forward(x);       // convs (and dg::linear) give f16 tensors
//     Tensor loss = cross_entropy(logits, y); // f32 (losses widen their inputs)
//   }                                         // previous state restored
//   loss.backward();                          // backward may run outside the scope
#pragma once
#include <initializer_list>
#include <string>

#include "autograd/dtype.h"
#include "autograd/tensor.h"

namespace dg::amp {

// RAII scope; nested scopes restore the outer state; thread-local like PyTorch's.
// Autocast(low, false) switches autocast off inside the scope (e.g. a region that must stay in f32).
class Autocast {
 public:
  explicit Autocast(DType low = DType::f16, bool enabled = true);  // low must be f16 or bf16
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool prev_enabled_;
  DType prev_dtype_;
};

bool autocast_enabled();  // true inside an enabled Autocast scope on this thread
DType autocast_dtype();   // the scope's low dtype (f16 outside any scope)

// "fp16" | "f16" -> f16, "bf16" -> bf16, else dg::Error listing the accepted names.
DType amp_dtype_from_name(const std::string& name);

// ---- hooks used by the op entry points (autograd/ops/*.cpp) ------------------------------------
// NOTE [ Autocast hooks ]
// Each op entry point of the three classes starts with a few lines, only active inside a scope:
//   low-precision op:  if (autocast_enabled()) { cast inputs with autocast_low; NoAutocast off;
//                                                 return op(cast inputs); }   // the op's half path
//   f32 op:            x = autocast_f32(x);  (a no-op outside a scope and for f32/f64 inputs)
//   promoting op:      mixed floating dtypes -> promote_types (outside a scope they are an error).
// The low-precision op re-enters itself with autocast suspended, so its existing f16/bf16 path
// (widen exactly, compute in f32, round the output) runs and nothing inside it is cast again.
// Backward formulas never call a low-precision entry point, so backward gives the same gradients
// inside and outside a scope (tests/amp/test_autocast.cpp checks it).
// Each cast returns its input unchanged outside a scope, for non-floating and undefined tensors.
Tensor autocast_low(const Tensor& t);  // low-precision op input: f32/f16/bf16 -> autocast_dtype() (f64 stays)
Tensor autocast_f32(const Tensor& t);  // f32 op input: f16/bf16 -> f32 (f64 stays f64)

// True inside a scope when some defined tensor of ts is f16/bf16: an f32 op then re-enters itself on
// autocast_f32 casts of its floating inputs (f32 inputs make it false, so the re-entry stops).
bool autocast_widens(std::initializer_list<Tensor> ts);

// The wider of two floating dtypes: f64 > f32 > f16, bf16; f16 with bf16 gives f32 (as PyTorch).
DType promote_types(DType a, DType b);

// Autocast switched off for the guard's lifetime (the low-precision ops' re-entry, above).
class NoAutocast {
 public:
  NoAutocast() : off_(autocast_dtype(), false) {}

 private:
  Autocast off_;
};

}  // namespace dg::amp
