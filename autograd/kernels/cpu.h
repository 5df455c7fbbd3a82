// Run-time ISA choice. Kernels come in a portable scalar version and, where it pays, an AVX2/FMA
// version compiled in a *_avx2.cpp file and an AVX-512 version in a *_avx512.cpp file, each with
// its own compiler flags. isa() picks once per process: DETGRAD_ISA=scalar|avx2|avx512 forces a
// choice; otherwise the widest the CPU supports (AVX-512 needs F, BW, DQ and VL plus FMA and F16C;
// AVX2 needs AVX2, FMA and F16C).
//
// The levels are ordered: a CPU (or a forced choice) at avx512 also runs every AVX2 kernel. Kernels
// that only have an AVX2 version test has_avx2() (true for avx2 *and* avx512), never isa() == avx2.
#pragma once

namespace dg::kernels {

enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };

Isa isa();                   // the ISA kernels use (cached after the first call)
const char* isa_name();      // "scalar", "avx2" or "avx512"
bool cpu_has_avx2();         // what the CPU supports, whatever DETGRAD_ISA says
bool cpu_has_avx512();       // AVX-512 F/BW/DQ/VL + FMA + F16C
bool cpu_has_avx512_bf16();  // cpu_has_avx512() and AVX512_BF16 (vcvtneps2bf16); not an Isa level of its own
void set_isa(Isa isa);       // tests: force one path (throws dg::Error if the CPU lacks it)

// True when AVX2/FMA/F16C kernels may run: isa() is avx2 or avx512.
inline bool has_avx2() { return isa() >= Isa::avx2; }
// True when AVX-512 kernels may run.
inline bool has_avx512() { return isa() >= Isa::avx512; }
// True when the AVX512_BF16 conversion may run: the avx512 level is in use and the CPU has BF16.
inline bool has_avx512_bf16() { return has_avx512() && cpu_has_avx512_bf16(); }

}  // namespace dg::kernels
