// core/sys.h — wall clock and process memory figures (from /proc/self/status on Linux).
#pragma once
#include <cstdint>

namespace bitlm {

double now_seconds();            // monotonic
double process_cpu_seconds();    // CPU time of every thread of the process (user + system)
// Both count file-backed mapped pages (an mmapped model's), not only the heap: checked against
// RssFile, and VmHWM equals getrusage's ru_maxrss and /usr/bin/time's "Maximum resident set size".
uint64_t current_rss_bytes();    // VmRSS
uint64_t peak_rss_bytes();       // VmHWM: the process's peak so far

}  // namespace bitlm
