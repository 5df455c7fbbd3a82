// Run-time ISA choice. Kernels come in a portable scalar version and, where it pays, an AVX2/FMA
// version compiled in a *_avx2.cpp file with its own flags. isa() picks once per process:
// DETGRAD_ISA=scalar|avx2 forces a choice; otherwise AVX2 when the CPU has AVX2, FMA and F16C.
#pragma once

namespace dg::kernels {

enum class Isa { scalar, avx2 };

Isa isa();                 // the ISA kernels use (cached after the first call)
const char* isa_name();    // "scalar" or "avx2"
bool cpu_has_avx2();       // what the CPU supports, whatever DETGRAD_ISA says
void set_isa(Isa isa);     // tests: force one path (throws dg::Error if the CPU lacks it)

}  // namespace dg::kernels
