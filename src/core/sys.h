// core/sys.h — wall clock and process memory figures (from /proc/self/status on Linux).
#pragma once
#include <cstdint>

namespace bitlm {

double now_seconds();            // monotonic
double process_cpu_seconds();    // CPU time of every thread of the process (user + system)
uint64_t current_rss_bytes();    // VmRSS
uint64_t peak_rss_bytes();       // VmHWM

}  // namespace bitlm
