// tests/fuzz/fuzz_util.h — what every libFuzzer target shares: an in-memory file for the parsers
// that take a path, and the one rule of the targets: bad input may only end in a UserError
// (FormatError, IoError, ApiError, ...). Any other exception escapes LLVMFuzzerTestOneInput and
// aborts (libFuzzer reports it as a crash), as do sanitizer reports and failed FUZZ_CHECKs.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.h"

namespace bitlm::fuzz {

// A memfd named by /proc/self/fd/N: the parsers open, stat and mmap it like a file on disk.
class MemFile {
 public:
  MemFile() : fd_(memfd_create("bitlm-fuzz", 0)), path_("/proc/self/fd/" + std::to_string(fd_)) {
    if (fd_ < 0) std::abort();
  }
  // Replaces the content; false if the kernel refused (then skip the input). Written over the old
  // bytes, then cut to size: emptying the file first freed and re-faulted every page of it, each input.
  bool write(const uint8_t* data, size_t size) {
    return (size == 0 || pwrite(fd_, data, size, 0) == ssize_t(size)) && ftruncate(fd_, off_t(size)) == 0;
  }
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

// One MemFile per target (the parsers unmap before the next input is written).
inline MemFile& memfile() {
  static MemFile f;
  return f;
}

// Runs f; a UserError is the expected answer to bad input.
template <class F>
void expect_user_error(F&& f) {
  try {
    f();
  } catch (const UserError&) {
  }
}

// The input as the content of memfile(), handed to f(path); a UserError is the expected answer.
template <class F>
int run_on_file(const uint8_t* data, size_t size, F&& f) {
  MemFile& file = memfile();
  if (file.write(data, size)) expect_user_error([&] { f(file.path()); });
  return 0;
}

}  // namespace bitlm::fuzz

// An invariant the target checks on a successful parse (not a user error: a bug).
#define FUZZ_CHECK(cond)                                                             \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)
