// core/prefetch.h — software prefetch for the decode kernels, which read every weight byte once.
// The hardware streamer re-learns the stream at each 4 KiB page and keeps too few lines in flight
// for one core to draw its share of DRAM bandwidth; asking for the line kPrefetchAhead bytes past
// the one being read keeps the memory system busy. 2B-4T decode, 2 threads, went from 65% to ~90%
// of the measured read bandwidth (docs/performance.md, "Software prefetch in decode").
#pragma once
#include <cstdint>

namespace bitlm {

// 2-16 KiB measured alike (2 KiB a little slower); 8 KiB is a few row groups of any 2B-4T matrix.
constexpr uintptr_t kPrefetchAhead = 8192;

// The address is formed as an integer: it may lie past the end of the weights, where the
// instruction is a no-op (prefetches never fault), but a pointer there would be undefined.
inline void prefetch_ahead(const void* p) {
  __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(p) + kPrefetchAhead), 0, 3);
}

// Every line of the n bytes that follow p + kPrefetchAhead (a whole row of a per-row dot kernel).
inline void prefetch_ahead(const void* p, uint64_t n) {
  for (uint64_t o = 0; o < n; o += 64) prefetch_ahead(static_cast<const uint8_t*>(p) + o);
}

}  // namespace bitlm
