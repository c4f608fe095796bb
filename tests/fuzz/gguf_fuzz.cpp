// tests/fuzz/gguf_fuzz.cpp — libFuzzer target for GgufFile::open and SafetensorsFile::open (the
// first input byte picks the parser). Not part of the CMake build (needs clang); build and run:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/gguf_fuzz.cpp \
//     src/io/*.cpp src/core/error.cpp -lfmt -o /tmp/gguf_fuzz
//   mkdir -p /tmp/corpus && cp tests/data/io/*.gguf /tmp/corpus 2>/dev/null; /tmp/gguf_fuzz -max_len=4096 /tmp/corpus
// Any exception other than FormatError, any sanitizer report or crash is a bug.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The parsers take a path: hand them an in-memory file.
  static const int fd = memfd_create("fuzz", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data + 1, size - 1, 0) != ssize_t(size - 1)) return 0;
  try {
    if (data[0] & 1) {
      const auto f = bitlm::SafetensorsFile::open(path);
      for (const auto& [name, t] : f->tensors()) (void)f->read_f32(name);
    } else {
      const auto f = bitlm::GgufFile::open(path);
      for (const auto& t : f->tensors()) (void)f->tensor_data(t);
    }
  } catch (const bitlm::FormatError&) {
  }
  return 0;
}
