// tests/cli/cli_runner.h — runs the built `bitlm` binary and captures its exit code and output,
// for the CLI tests. Temp names carry the pid: ctest runs each test in its own process, in parallel.
#pragma once
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace bitlm::test {

inline const std::string kBitlmBin = std::string(BITLM_BIN_DIR) + "/bitlm";

// Every temp path handed out is removed when the test process exits, so that repeated test runs do
// not pile files up in the temp directory (the names carry the pid, so nothing overwrites them).
struct TempPaths {
  std::vector<std::string> paths;
  ~TempPaths() {
    std::error_code ignored;  // some were never created
    for (const std::string& p : paths) std::filesystem::remove_all(p, ignored);
  }
};

inline std::string tmp_path(const std::string& name) {
  static TempPaths created;
  std::string path = testing::TempDir() + "bitlm_cli_" + std::to_string(getpid()) + "_" + name;
  if (std::find(created.paths.begin(), created.paths.end(), path) == created.paths.end()) created.paths.push_back(path);
  return path;
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct CliRun { int rc; std::string out, err; };

// `args` is appended to the binary's path as a shell command line; `env` (e.g. "BITLM_LAYOUT=t1")
// is put before it.
inline CliRun run_bitlm_env(const std::string& env, const std::string& args) {
  const std::string out = tmp_path("stdout.txt"), err = tmp_path("stderr.txt");
  const int st = std::system((env + " " + kBitlmBin + " " + args + " > " + out + " 2> " + err).c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, read_all(out), read_all(err)};
}
inline CliRun run_bitlm(const std::string& args) { return run_bitlm_env("", args); }

// Starts `args` (argv[0] looked up in PATH), output to /dev/null; the pid.
inline pid_t spawn(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (!std::freopen("/dev/null", "w", stdout) || !std::freopen("/dev/null", "w", stderr)) _exit(126);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Runs `bitlm args` and SIGKILLs it the moment it creates its `nth` temporary file of `dest`
// ("<dest>.tmp.<pid>.<n>", io/atomic_write.h; seen with inotify): a kill -9 in the middle of
// writing dest. True if the process died of that signal; false if it exited first.
inline bool kill_while_writing(const std::vector<std::string>& args, const std::string& dest, int nth = 1) {
  const std::filesystem::path d(dest);
  const std::string prefix = d.filename().string() + ".tmp.";
  const int in = inotify_init1(IN_CLOEXEC);
  EXPECT_GE(in, 0) << std::strerror(errno);
  EXPECT_GE(inotify_add_watch(in, d.parent_path().c_str(), IN_CREATE), 0) << std::strerror(errno);
  std::vector<std::string> argv = {kBitlmBin};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = spawn(argv);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  int status = 0, seen = 0;
  bool killed = false;
  while (!killed && std::chrono::steady_clock::now() < deadline) {
    pollfd p{in, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) {
      if (waitpid(pid, &status, WNOHANG) == pid) break;  // ended without writing dest (again)
      continue;
    }
    alignas(inotify_event) char buf[4096];
    const ssize_t n = read(in, buf, sizeof buf);
    for (ssize_t off = 0; off < n && !killed;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + off);
      if (e->len && std::strncmp(e->name, prefix.c_str(), prefix.size()) == 0 && ++seen == nth) {
        kill(pid, SIGKILL);
        killed = true;
      }
      off += ssize_t(sizeof(inotify_event) + e->len);
    }
  }
  if (!killed) kill(pid, SIGKILL);  // past the deadline: do not leave it running
  if (killed || !WIFEXITED(status)) waitpid(pid, &status, 0);
  close(in);
  return killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

// The temporary files of dest (kill -9 leaves them; the next writer of dest removes them).
inline std::vector<std::string> temps_of(const std::string& dest) {
  const std::filesystem::path d(dest);
  const std::string prefix = d.filename().string() + ".tmp.";
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(d.parent_path()))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path().string());
  return out;
}

// `bitlm args` writing dest is killed with SIGKILL mid-write: a previous dest stays byte for byte,
// a new one does not appear at all; then the same command succeeds, writes exactly what a run
// never killed writes, and removes the killed runs' temporary files.
inline void expect_kill_mid_write_leaves_no_partial_file(const std::vector<std::string>& args, const std::string& dest) {
  std::string line;
  for (const std::string& a : args) line += " " + a;
  const CliRun whole_run = run_bitlm(line);
  ASSERT_EQ(whole_run.rc, 0) << whole_run.err;
  const std::string whole = read_all(dest);
  ASSERT_FALSE(whole.empty());
  // The kill lands when the temp file appears; should the process still win the race to the
  // rename, dest is whole (atomic, but not the case under test) and the kill is tried again.
  const auto kill_until_mid_write = [&](const std::string& before) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (before.empty()) std::filesystem::remove(dest);
      else std::ofstream(dest, std::ios::binary | std::ios::trunc) << before;
      const bool killed = kill_while_writing(args, dest);
      if (killed && (!std::filesystem::exists(dest) ? before.empty() : read_all(dest) == before)) return true;
      EXPECT_TRUE(read_all(dest) == whole) << "a partial " << dest << " was left";  // a lost race: whole
    }
    return false;
  };
  EXPECT_TRUE(kill_until_mid_write("the previous file\n")) << "the previous " << dest << " was not kept";
  EXPECT_TRUE(kill_until_mid_write("")) << "a new " << dest << " appeared";
  EXPECT_FALSE(temps_of(dest).empty());  // the killed runs' own
  const CliRun rerun = run_bitlm(line);
  ASSERT_EQ(rerun.rc, 0) << rerun.err;
  EXPECT_TRUE(read_all(dest) == whole) << "the rerun wrote other bytes than an uninterrupted run";
  EXPECT_TRUE(temps_of(dest).empty());
}

}  // namespace bitlm::test
