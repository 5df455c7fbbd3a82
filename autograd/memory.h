// A process-wide count of tensor storage bytes: what is alive now, the most that was ever alive at
// once (the peak), and how many storages were allocated and freed. Every Storage (autograd/tensor.h)
// reports its constructor and destructor here, so views and copies of a Tensor that share a storage
// count once. Counted: the nbytes a storage was asked for (numel * dtype_size), not the 64-byte
// rounding of aligned_alloc, and nothing outside tensors (kernel scratch buffers, std::vectors,
// the allocator's own overhead). docs/memory.md explains how to read the figures.
// The counters are atomics: allocations from OpenMP threads or data-loader workers are all counted.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dg {

struct MemoryStats {
  int64_t current_bytes = 0;  // bytes of tensor storage alive now
  int64_t peak_bytes = 0;     // the largest current_bytes since start or the last reset_peak_memory()
  int64_t allocations = 0;    // storages created since start
  int64_t frees = 0;          // storages destroyed since start
};

MemoryStats memory_stats();  // a snapshot of the four counters
void reset_peak_memory();    // peak_bytes := current_bytes (measure the peak of one phase)

namespace detail {
void note_storage_alloc(size_t nbytes);  // called by Storage's constructor
void note_storage_free(size_t nbytes);   // called by Storage's destructor
}  // namespace detail

}  // namespace dg
