// io/mapped_file.cpp — mmap(PROT_READ, MAP_PRIVATE) of a whole file, with readahead hints.
// Under AddressSanitizer the file is read into a heap block of exactly its size instead: a map
// ends on a page boundary, so a parser reading a few bytes past the end of the file would read the
// page's zero tail unseen; on the heap, ASan reports the first byte past the end.
#include "io/mapped_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

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

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCopyToHeap = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kCopyToHeap = true;
#else
constexpr bool kCopyToHeap = false;
#endif
#else
constexpr bool kCopyToHeap = false;
#endif

// kCopyToHeap: the whole file in a page-aligned heap block (aligned as a map would be).
const uint8_t* read_to_heap(int fd, uint64_t n, const std::string& path) {
  void* p = nullptr;
  if (posix_memalign(&p, 4096, size_t(n)) != 0) throw_errno(path, ENOMEM);
  for (uint64_t done = 0; done < n;) {
    const ssize_t r = ::pread(fd, static_cast<uint8_t*>(p) + done, size_t(n - done), off_t(done));
    if (r <= 0) {
      const int err = r == 0 ? EIO : errno;
      if (r < 0 && err == EINTR) continue;
      std::free(p);
      throw_errno(path, err);
    }
    done += uint64_t(r);
  }
  return static_cast<const uint8_t*>(p);
}

// The live maps, for the SIGBUS handler: a fixed table it can read without locks or allocation.
// A slot is claimed by CAS on `begin` and published by its release store; the handler reads it
// with acquire. More live maps than slots only lose the friendly message for the extra ones.
struct MapSlot {
  std::atomic<uintptr_t> begin{0};
  uintptr_t end = 0;
  char path[480] = {};
};
constexpr int kMapSlots = 64;
MapSlot g_maps[kMapSlots];
constexpr uintptr_t kClaimed = 1;  // a slot being filled in

void register_map(const uint8_t* p, uint64_t n, const std::string& path) {
  for (MapSlot& s : g_maps) {
    uintptr_t expected = 0;
    if (!s.begin.compare_exchange_strong(expected, kClaimed, std::memory_order_acquire)) continue;
    s.end = uintptr_t(p) + n;
    const size_t len = std::min(path.size(), sizeof(s.path) - 1);
    std::memcpy(s.path, path.data(), len);
    s.path[len] = '\0';
    s.begin.store(uintptr_t(p), std::memory_order_release);
    return;
  }
}

void unregister_map(const uint8_t* p) {
  for (MapSlot& s : g_maps) {
    uintptr_t expected = uintptr_t(p);
    if (s.begin.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) return;
  }
}

void write_stderr(const char* s) {
  for (size_t n = std::strlen(s); n > 0;) {
    const ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= size_t(w);
  }
}

// Async-signal-safe: reads the table, write(2), _exit(2).
void on_sigbus(int sig, siginfo_t* info, void*) {
  const uintptr_t addr = uintptr_t(info->si_addr);
  for (const MapSlot& s : g_maps) {
    const uintptr_t b = s.begin.load(std::memory_order_acquire);
    if (b <= kClaimed || addr < b || addr >= s.end) continue;
    write_stderr("bitlm: ");
    write_stderr(s.path);
    write_stderr(": the file was truncated or rewritten in place while bitlm was reading it (it is mapped "
                 "into memory); replace files with a rename instead, as bitlm's own writers do\n");
    ::_exit(2);
  }
  signal(sig, SIG_DFL);  // not ours: the default action (a core dump) when the handler returns
}

}  // namespace

bool MappedFile::maps_files() { return !kCopyToHeap; }

void release_mapped_pages(std::span<const uint8_t> bytes) {
  if (!MappedFile::maps_files()) return;
  static const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (uintptr_t(bytes.data()) + page - 1) & ~(page - 1);
  const uintptr_t end = (uintptr_t(bytes.data()) + bytes.size()) & ~(page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

void install_mapped_file_fault_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, nullptr);
  });
}

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
  if (size_ > 0 && kCopyToHeap) {
    try {
      data_ = read_to_heap(fd, size_, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
  } else if (size_ > 0) {
    void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw_errno(path, err);
    }
    advise(p, size_);
    data_ = static_cast<const uint8_t*>(p);
    register_map(data_, size_, path_);
  }
  ::close(fd);  // the mapping keeps the file alive
}

MappedFile::~MappedFile() {
  if (data_ && kCopyToHeap) std::free(const_cast<uint8_t*>(data_));
  else if (data_) {
    unregister_map(data_);
    munmap(const_cast<uint8_t*>(data_), size_);
  }
}

}  // namespace bitlm
