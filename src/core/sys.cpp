#include "core/sys.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace bitlm {
namespace {
uint64_t status_kib(const char* key) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kib = 0;
  const size_t n = std::strlen(key);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, key, n) == 0) {
      std::sscanf(line + n, " %lu", &kib);
      break;
    }
  std::fclose(f);
  return kib;
}
}  // namespace

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
uint64_t current_rss_bytes() { return status_kib("VmRSS:") * 1024; }
uint64_t peak_rss_bytes() { return status_kib("VmHWM:") * 1024; }

}  // namespace bitlm
