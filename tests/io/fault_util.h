// tests/io/fault_util.h — fault injection for the writers' tests: a file-size limit (RLIMIT_FSIZE,
// with SIGXFSZ ignored) makes every write past N bytes fail with EFBIG, as a full disk fails with
// ENOSPC: the same error path through AtomicFileWriter.
#pragma once
#include <sys/resource.h>

#include <csignal>
#include <cstdint>

namespace bitlm::test {

// While alive, this process may not write files larger than `max_bytes`.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(uint64_t max_bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills the process
    rlimit lim = saved_;
    lim.rlim_cur = rlim_t(max_bytes);
    setrlimit(RLIMIT_FSIZE, &lim);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = nullptr;
};

}  // namespace bitlm::test
