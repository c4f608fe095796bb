#include "core/error.h"

#include <cstdio>
#include <cstdlib>

namespace bitlm {

void assert_fail(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "bitlm: internal assertion failed: %s (%s:%d)\n", expr, file, line);
  std::abort();
}

}  // namespace bitlm
