// io/atomic_write.cpp — temp file + fsync + rename + directory fsync (POSIX).
#include "io/atomic_write.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace bitlm {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

[[noreturn]] void throw_errno(const std::string& path, std::string_view action, int err) {
  throw IoError(fmt::format("{}: {}: {}", path, action, std::strerror(err)));
}

// Temp files of `path` left by writers that died without cleaning up (kill -9, power loss):
// "<name>.tmp.<pid>.<n>" whose pid no longer runs on this machine. A kill -9 of a long convert
// otherwise leaves gigabytes beside the output. A temp of a live process (this one, another
// writer, or a reused pid) is left alone.
void remove_stale_temps(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const std::string prefix = p.filename().string() + ".tmp.";
  std::error_code ec;
  fs::directory_iterator it(p.parent_path().empty() ? fs::path(".") : p.parent_path(), ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = name.substr(prefix.size());  // "<pid>.<n>"
    const size_t dot = rest.find('.');
    if (dot == 0 || dot == std::string::npos || dot + 1 == rest.size() ||
        rest.find_first_not_of("0123456789.") != std::string::npos || rest.find('.', dot + 1) != std::string::npos)
      continue;
    const long pid = std::strtol(rest.c_str(), nullptr, 10);
    if (pid <= 0 || pid == long(::getpid()) || pid > long(INT32_MAX)) continue;
    if (::kill(pid_t(pid), 0) != 0 && errno == ESRCH) ::unlink(it->path().c_str());
  }
}

// O_EXCL + a per-process counter: two writers of the same path never share a temp file.
int create_temp(const std::string& path, std::string& tmp_path) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 16; ++attempt) {
    tmp_path = fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter++);
    const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    if (errno != EEXIST) throw_errno(path, "cannot create a temporary file", errno);
  }
  throw_errno(path, "cannot create a temporary file", EEXIST);
}

void write_all(int fd, const uint8_t* p, size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_errno(path, "write failed", errno);
    }
    p += w;
    n -= size_t(w);
  }
}

// Makes the rename itself durable; a failure here is not worth failing the write for (some
// filesystems refuse to open or fsync directories).
void sync_parent_dir(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::filesystem::path dir = parent.empty() ? std::filesystem::path(".") : parent;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  remove_stale_temps(path_);
  fd_ = create_temp(path_, tmp_path_);
  buf_.reserve(kBufferBytes);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
  }
}

void AtomicFileWriter::write(std::span<const uint8_t> bytes) {
  BITLM_ASSERT(fd_ >= 0);  // write after commit
  n_written_ += bytes.size();
  if (buf_.size() + bytes.size() <= kBufferBytes) {
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
    return;
  }
  flush();
  if (bytes.size() >= kBufferBytes) {
    write_all(fd_, bytes.data(), bytes.size(), path_);  // large tensors go straight through
  } else {
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  }
}

void AtomicFileWriter::write_zeros(uint64_t n_bytes) {
  static constexpr uint8_t kZeros[256] = {};
  while (n_bytes > 0) {
    const uint64_t n = std::min<uint64_t>(n_bytes, sizeof(kZeros));
    write(kZeros, n);
    n_bytes -= n;
  }
}

void AtomicFileWriter::flush() {
  write_all(fd_, buf_.data(), buf_.size(), path_);
  buf_.clear();
}

void AtomicFileWriter::commit() {
  BITLM_ASSERT(fd_ >= 0);  // commit called twice
  flush();
  if (::fsync(fd_) != 0) throw_errno(path_, "fsync failed", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_path_.c_str());
    throw_errno(path_, "close failed", err);
  }
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_path_.c_str());
    throw_errno(path_, "rename failed", err);
  }
  sync_parent_dir(path_);
}

void atomic_write_file(const std::string& path, std::span<const uint8_t> bytes) {
  AtomicFileWriter w(path);
  w.write(bytes);
  w.commit();
}

void atomic_write_text(const std::string& path, std::string_view text) {
  atomic_write_file(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

}  // namespace bitlm
