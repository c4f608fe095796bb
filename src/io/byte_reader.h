// io/byte_reader.h — a bounded little-endian reader over untrusted bytes. Every read checks the
// remaining length first and throws FormatError(path, "<what> '<name>' at offset X needs N bytes,
// only R left") instead of reading past the end; `what`/`name` are views, so no allocation on
// the success path. Hosts are little-endian (x86-64, aarch64), as GGUF and safetensors are.
#pragma once
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/error.h"

namespace bitlm {

class ByteReader {
 public:
  ByteReader(std::span<const uint8_t> bytes, std::string_view path) : bytes_(bytes), path_(path) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return bytes_.size(); }
  uint64_t remaining() const { return bytes_.size() - pos_; }
  std::string_view path() const { return path_; }

  template <class T>
  T read(std::string_view what, std::string_view name = {}) {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    std::memcpy(&v, take(sizeof(T), what, name), sizeof(T));
    return v;
  }

  // n raw bytes, viewed in place.
  std::span<const uint8_t> read_bytes(uint64_t n, std::string_view what, std::string_view name = {}) {
    return {take(n, what, name), size_t(n)};
  }

  // A u64 length then that many bytes; the length must be <= max_len.
  std::string_view read_string(uint64_t max_len, std::string_view what, std::string_view name = {}) {
    const uint64_t at = pos_;
    const auto n = read<uint64_t>(what, name);
    if (n > max_len) fail_length(at, n, max_len, what, name);
    const auto b = read_bytes(n, what, name);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }

  [[noreturn]] void fail(std::string_view msg) const { throw FormatError(path_, msg); }

 private:
  const uint8_t* take(uint64_t n, std::string_view what, std::string_view name) {
    if (n > remaining()) fail_truncated(n, what, name);
    const uint8_t* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  [[noreturn]] void fail_truncated(uint64_t n, std::string_view what, std::string_view name) const;
  [[noreturn]] void fail_length(uint64_t at, uint64_t n, uint64_t max_len, std::string_view what,
                                std::string_view name) const;

  std::span<const uint8_t> bytes_;
  std::string_view path_;
  uint64_t pos_ = 0;
};

}  // namespace bitlm
