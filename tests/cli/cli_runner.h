// tests/cli/cli_runner.h — runs the built `bitlm` binary and captures its exit code and output,
// for the CLI tests. Temp names carry the pid: ctest runs each test in its own process, in parallel.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
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

// `args` is appended to the binary's path as a shell command line.
inline CliRun run_bitlm(const std::string& args) {
  const std::string out = tmp_path("stdout.txt"), err = tmp_path("stderr.txt");
  const int st = std::system((kBitlmBin + " " + args + " > " + out + " 2> " + err).c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, read_all(out), read_all(err)};
}

}  // namespace bitlm::test
