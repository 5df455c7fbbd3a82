// Autocast scope state (thread-local) and the input casts the op entry points call. See autocast.h.
#include "autograd/autocast.h"

#include "autograd/error.h"

namespace dg::amp {

namespace {
thread_local bool g_enabled = false;
thread_local DType g_dtype = DType::f16;
}  // namespace

Autocast::Autocast(DType low, bool enabled) : prev_enabled_(g_enabled), prev_dtype_(g_dtype) {
  check(is_half(low), "Autocast: the low-precision dtype must be f16 or bf16, got ", dtype_name(low));
  g_enabled = enabled;
  g_dtype = low;
}

Autocast::~Autocast() {
  g_enabled = prev_enabled_;
  g_dtype = prev_dtype_;
}

bool autocast_enabled() { return g_enabled; }
DType autocast_dtype() { return g_dtype; }

DType amp_dtype_from_name(const std::string& name) {
  if (name == "fp16" || name == "f16") return DType::f16;
  if (name == "bf16") return DType::bf16;
  fail("amp: unknown mixed-precision type '", name, "' (expected fp16, f16 or bf16)");
}

// f64 is left alone, as PyTorch's autocast does: f64 is the reference type (gradient checks).
Tensor autocast_low(const Tensor& t) {
  if (!g_enabled || !t.defined() || !is_floating(t.dtype()) || t.dtype() == DType::f64 || t.dtype() == g_dtype)
    return t;
  return t.to(g_dtype);
}

Tensor autocast_f32(const Tensor& t) {
  if (!g_enabled || !t.defined() || !is_half(t.dtype())) return t;
  return t.to(DType::f32);
}

bool autocast_widens(std::initializer_list<Tensor> ts) {
  if (!g_enabled) return false;
  for (const Tensor& t : ts)
    if (t.defined() && is_half(t.dtype())) return true;
  return false;
}

DType promote_types(DType a, DType b) {
  check(is_floating(a) && is_floating(b), "promote_types: expected floating dtypes, got ", dtype_name(a), " and ",
        dtype_name(b));
  if (a == b) return a;
  if (a == DType::f64 || b == DType::f64) return DType::f64;
  return DType::f32;  // f32 with anything narrower, or f16 with bf16
}

}  // namespace dg::amp
