// io/mapped_file.h — a read-only, private memory map of a whole file (RAII). The bytes stay valid
// for the object's lifetime; an empty file maps to an empty span (mmap rejects length 0).
//
// The size is read once, at open, and every reader validates its offsets against it. A file
// replaced while mapped (bitlm's writers rename a new file over the old one: io/atomic_write.h)
// does not affect the map: it keeps the old file's pages. A file rewritten IN PLACE by another
// program does: pages read later show the new bytes, and pages past a shortened end fault with
// SIGBUS; install_mapped_file_fault_handler() turns that fault into one line naming the file and
// exit code 2 (docs/reliability.md).
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

  // False in AddressSanitizer builds, which read the file into an exactly sized heap block so that
  // a read past the end is reported (see mapped_file.cpp).
  static bool maps_files();

  const std::string& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_t(size_)}; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

// Drops the resident pages of bytes read from a MappedFile (a tensor copied or converted and done
// with), so a load or conversion holds one tensor's pages at a time; the bytes stay readable. A no-op
// when files are not mapped (MappedFile::maps_files()): MADV_DONTNEED on the heap copy of a
// sanitizer build would zero live heap memory.
void release_mapped_pages(std::span<const uint8_t> bytes);

// Installs a SIGBUS handler (once; the CLI does at start-up): a fault on the bytes of a live
// MappedFile, a file truncated underneath, prints "bitlm: <path>: the file was truncated ..." and
// exits with code 2; any other SIGBUS keeps the default action.
void install_mapped_file_fault_handler();

}  // namespace bitlm
