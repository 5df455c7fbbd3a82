#include "autograd/kernels/cpu.h"

#include <cstdlib>
#include <cstring>

#include "autograd/error.h"

namespace dg::kernels {

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
}

static Isa detect() {
  const char* env = std::getenv("DETGRAD_ISA");
  if (env && std::strcmp(env, "scalar") == 0) return Isa::scalar;
  if (env && std::strcmp(env, "avx2") == 0) {
    check(cpu_has_avx2(), "DETGRAD_ISA=avx2: this CPU lacks AVX2/FMA/F16C");
    return Isa::avx2;
  }
  if (env && *env) fail("DETGRAD_ISA must be 'scalar' or 'avx2', got '", env, "'");
  return cpu_has_avx2() ? Isa::avx2 : Isa::scalar;
}

static Isa& current() {
  static Isa v = detect();
  return v;
}

Isa isa() { return current(); }
const char* isa_name() { return isa() == Isa::avx2 ? "avx2" : "scalar"; }
void set_isa(Isa v) {
  check(v == Isa::scalar || cpu_has_avx2(), "set_isa: this CPU lacks AVX2/FMA/F16C");
  current() = v;
}

}  // namespace dg::kernels
