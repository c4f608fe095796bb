// io/mapped_file.cpp — mmap(PROT_READ, MAP_PRIVATE) of a whole file, with readahead hints.
#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace bitlm {
namespace {

[[noreturn]] void throw_errno(const std::string& path, int err) {
  throw IoError(fmt::format("{}: {}", path, std::strerror(err)));
}

// Weights are read front to back on every token: prefetch them, and let the kernel back the map
// with huge pages where the filesystem supports it (fewer TLB misses during decode).
void advise(void* p, uint64_t n) {
#ifdef MADV_HUGEPAGE
  madvise(p, n, MADV_HUGEPAGE);
#endif
  madvise(p, n, MADV_WILLNEED);
}

}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno(path, errno);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw_errno(path, err);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw_errno(path, EISDIR);
  }
  size_ = uint64_t(st.st_size);
  if (size_ > 0) {
    void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw_errno(path, err);
    }
    advise(p, size_);
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping keeps the file alive
}

MappedFile::~MappedFile() {
  if (data_) munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace bitlm
