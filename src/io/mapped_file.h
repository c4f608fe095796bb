// io/mapped_file.h — a read-only, private memory map of a whole file (RAII). The bytes stay valid
// for the object's lifetime; an empty file maps to an empty span (mmap rejects length 0).
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace bitlm {

class MappedFile {
 public:
  // Throws IoError("path: <strerror>") when the file cannot be opened, stat'ed or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_t(size_)}; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace bitlm
