// tests/cli/cli_runner.h — runs the built `bitlm` binary and captures its exit code and output,
// for the CLI tests. Temp names carry the pid: ctest runs each test in its own process, in parallel.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace bitlm::test {

inline const std::string kBitlmBin = std::string(BITLM_BIN_DIR) + "/bitlm";

inline std::string tmp_path(const std::string& name) {
  return testing::TempDir() + "bitlm_cli_" + std::to_string(getpid()) + "_" + name;
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
