// io/byte_reader.cpp — the error paths of ByteReader (kept out of line: they allocate).
#include "io/byte_reader.h"

namespace bitlm {
namespace {

std::string describe(std::string_view what, std::string_view name) {
  if (name.empty()) return std::string(what);
  return fmt::format("{} '{}'", what, name);
}

}  // namespace

void ByteReader::fail_truncated(uint64_t n, std::string_view what, std::string_view name) const {
  fail(fmt::format("truncated: {} at offset {} needs {} bytes, only {} left in the file ({} bytes)",
                   describe(what, name), pos_, n, remaining(), size()));
}

void ByteReader::fail_length(uint64_t at, uint64_t n, uint64_t max_len, std::string_view what,
                             std::string_view name) const {
  fail(fmt::format("{} at offset {}: length {} exceeds the limit of {} bytes", describe(what, name), at,
                   n, max_len));
}

}  // namespace bitlm
