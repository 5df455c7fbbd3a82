#include "autograd/kernels/cpu.h"

#include <cstdlib>
#include <cstring>

#include "autograd/error.h"

namespace dg::kernels {

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

bool cpu_has_avx512_bf16() {
  static const bool has = [] {
    __builtin_cpu_init();
    return cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
  }();
  return has;
}

static bool cpu_has(Isa v) {
  switch (v) {
    case Isa::scalar: return true;
    case Isa::avx2: return cpu_has_avx2();
    case Isa::avx512: return cpu_has_avx512();
  }
  return false;
}

static const char* name_of(Isa v) {
  switch (v) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

static Isa detect() {
  const char* env = std::getenv("DETGRAD_ISA");
  if (env && *env) {
    for (Isa v : {Isa::scalar, Isa::avx2, Isa::avx512})
      if (std::strcmp(env, name_of(v)) == 0) {
        check(cpu_has(v), "DETGRAD_ISA=", env, ": this CPU lacks ",
              v == Isa::avx512 ? "AVX-512 F/BW/DQ/VL, FMA or F16C" : "AVX2/FMA/F16C");
        return v;
      }
    fail("DETGRAD_ISA must be 'scalar', 'avx2' or 'avx512', got '", env, "'");
  }
  if (cpu_has_avx512()) return Isa::avx512;
  return cpu_has_avx2() ? Isa::avx2 : Isa::scalar;
}

static Isa& current() {
  static Isa v = detect();
  return v;
}

Isa isa() { return current(); }
const char* isa_name() { return name_of(isa()); }
void set_isa(Isa v) {
  check(cpu_has(v), "set_isa(", name_of(v), "): this CPU lacks ",
        v == Isa::avx512 ? "AVX-512 F/BW/DQ/VL, FMA or F16C" : "AVX2/FMA/F16C");
  current() = v;
}

}  // namespace dg::kernels
