// The tensor storage counters of memory.h: four relaxed atomics and a compare-exchange loop that
// raises the peak (max(peak, current) without a lock).
#include "autograd/memory.h"

#include <atomic>

namespace dg {

namespace {
std::atomic<int64_t> g_current{0}, g_peak{0}, g_allocs{0}, g_frees{0};
}  // namespace

MemoryStats memory_stats() {
  MemoryStats s;
  s.current_bytes = g_current.load(std::memory_order_relaxed);
  s.peak_bytes = g_peak.load(std::memory_order_relaxed);
  s.allocations = g_allocs.load(std::memory_order_relaxed);
  s.frees = g_frees.load(std::memory_order_relaxed);
  return s;
}

void reset_peak_memory() { g_peak.store(g_current.load(std::memory_order_relaxed), std::memory_order_relaxed); }

namespace detail {
void note_storage_alloc(size_t nbytes) {
  const int64_t now = g_current.fetch_add(int64_t(nbytes), std::memory_order_relaxed) + int64_t(nbytes);
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}
void note_storage_free(size_t nbytes) {
  g_current.fetch_sub(int64_t(nbytes), std::memory_order_relaxed);
  g_frees.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace detail

}  // namespace dg
