// io/atomic_write.h — write a file so readers see either the old content or the complete new one,
// never a prefix: write "<path>.tmp.<pid>.<n>" in the same directory (rename is atomic only within
// one filesystem), fsync it, rename over <path>, fsync the directory. A writer destroyed without
// commit() (an exception mid-way) removes its temp file and leaves <path> untouched. A process
// killed mid-write cannot: the next writer of <path> removes the temps of pids no longer running.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bitlm {

class AtomicFileWriter {
 public:
  // Creates the temp file; throws IoError("path: <strerror>").
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(std::span<const uint8_t> bytes);
  void write(const void* data, uint64_t n_bytes) { write({static_cast<const uint8_t*>(data), size_t(n_bytes)}); }
  void write_zeros(uint64_t n_bytes);
  uint64_t bytes_written() const { return n_written_; }
  const std::string& path() const { return path_; }

  // Flushes, fsyncs and renames the temp file onto path(). Call once; throws IoError.
  void commit();

 private:
  void flush();
  std::string path_, tmp_path_;
  int fd_ = -1;
  std::vector<uint8_t> buf_;  // batches the many small header writes into few syscalls
  uint64_t n_written_ = 0;
};

// The whole file in one call.
void atomic_write_file(const std::string& path, std::span<const uint8_t> bytes);
void atomic_write_text(const std::string& path, std::string_view text);

}  // namespace bitlm
