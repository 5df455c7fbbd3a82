// memory_stats() (autograd/memory.h): every storage allocation and free is counted exactly, shared
// storage counts once, the peak follows the high-water mark and reset_peak_memory() restarts it, and
// allocations from OpenMP threads are all counted. Figures are deltas around each step, so tensors
// alive elsewhere in the test process do not matter.
#include <doctest/doctest.h>

#include <omp.h>

#include <vector>

#include "autograd/memory.h"
#include "autograd/ops.h"
#include "autograd/tensor.h"

using namespace dg;

TEST_CASE("memory: allocations and frees are counted exactly, shared storage once") {
  const MemoryStats s0 = memory_stats();
  {
    Tensor a = Tensor::empty({10, 3}, DType::f32);  // 120 bytes
    MemoryStats s = memory_stats();
    CHECK(s.current_bytes - s0.current_bytes == 120);
    CHECK(s.allocations - s0.allocations == 1);
    CHECK(s.frees - s0.frees == 0);

    Tensor b = a;                 // same TensorImpl
    Tensor c = reshape(a, {30});  // a view: shares the storage (NOTE [ Views and copies ])
    Tensor d = a.detach();        // same storage, no graph
    CHECK(memory_stats().current_bytes - s0.current_bytes == 120);
    CHECK(memory_stats().allocations - s0.allocations == 1);

    Tensor h = zeros({7}, DType::f16);   // 14 bytes: half the f32 figure
    Tensor g = zeros({7}, DType::bf16);  // 14
    Tensor z = zeros({0, 4});            // 0 bytes, still one storage
    s = memory_stats();
    CHECK(s.current_bytes - s0.current_bytes == 120 + 14 + 14 + 0);
    CHECK(s.allocations - s0.allocations == 4);
  }
  const MemoryStats s1 = memory_stats();
  CHECK(s1.current_bytes == s0.current_bytes);
  CHECK(s1.allocations - s0.allocations == 4);
  CHECK(s1.frees - s0.frees == 4);
}

TEST_CASE("memory: the peak is the high-water mark and reset_peak_memory() restarts it") {
  reset_peak_memory();
  const MemoryStats s0 = memory_stats();
  CHECK(s0.peak_bytes == s0.current_bytes);
  {
    Tensor a = Tensor::empty({1000}, DType::f64);     // 8000
    { Tensor b = Tensor::empty({500}, DType::f32); }  // 2000, freed at once: peak 10000 above start
    Tensor c = Tensor::empty({100}, DType::f32);      // 400: current 8400 above start
    const MemoryStats s = memory_stats();
    CHECK(s.peak_bytes - s0.current_bytes == 10000);
    CHECK(s.current_bytes - s0.current_bytes == 8400);
    reset_peak_memory();
    CHECK(memory_stats().peak_bytes - s0.current_bytes == 8400);
  }
  CHECK(memory_stats().peak_bytes - s0.current_bytes == 8400);  // frees never lower the peak
  CHECK(memory_stats().current_bytes == s0.current_bytes);
}

TEST_CASE("memory: an op output is counted; allocations from OpenMP threads add up") {
  const MemoryStats s0 = memory_stats();
  {
    Tensor x = ones({4, 8});  // 128 bytes
    Tensor y = mul(x, x);     // +128
    CHECK(memory_stats().current_bytes - s0.current_bytes == 256);
  }
  CHECK(memory_stats().current_bytes == s0.current_bytes);

  const MemoryStats s1 = memory_stats();
  std::vector<Tensor> made(64);
#pragma omp parallel for num_threads(4)
  for (int k = 0; k < 64; ++k) made[size_t(k)] = Tensor::empty({k + 1}, DType::f32);
  const MemoryStats s2 = memory_stats();
  CHECK(s2.current_bytes - s1.current_bytes == 4 * (64 * 65 / 2));
  CHECK(s2.allocations - s1.allocations == 64);
  CHECK(s2.peak_bytes >= s2.current_bytes);
#pragma omp parallel for num_threads(4)
  for (int k = 0; k < 64; ++k) made[size_t(k)] = Tensor();
  CHECK(memory_stats().current_bytes == s1.current_bytes);
  CHECK(memory_stats().frees - s1.frees == 64);
}
