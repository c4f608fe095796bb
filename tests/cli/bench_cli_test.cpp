// tests/cli/bench_cli_test.cpp — `bitlm bench` end to end on a synth micro model: exit code 0, the
// llama-bench style table (pp and tg rows), the header figures, and exit code 2 for bad input.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "model/synth.h"

namespace bitlm {
namespace {

const std::string kBin = std::string(BITLM_BIN_DIR) + "/bitlm";

std::string tmp(const std::string& n) {
  return testing::TempDir() + "bitlm_bench_cli_" + std::to_string(getpid()) + "_" + n;
}

std::string read_all(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct CliRun { int rc; std::string out, err; };

CliRun run(const std::string& args) {
  const std::string out = tmp("stdout.txt"), err = tmp("stderr.txt");
  const int st = std::system((kBin + " " + args + " > " + out + " 2> " + err).c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, read_all(out), read_all(err)};
}

TEST(BenchCli, PrintsPromptAndGenerationRows) {
  const std::string model = tmp("micro.gguf");
  write_synth_model({.shape = "micro", .seed = 4}, model);
  const CliRun r = run("bench -m " + model + " -p 8 -n 4 -t 2 -r 2");
  EXPECT_EQ(r.rc, 0) << r.err;
  for (const char* want : {"pp8", "tg4", "bits/weight", "isa:", "peak RSS", "read bandwidth"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  EXPECT_EQ(run("bench -m " + model + " -r 0").rc, 2);
  EXPECT_EQ(run("bench -m " + tmp("missing.gguf")).rc, 2);
  std::remove(model.c_str());
}

}  // namespace
}  // namespace bitlm
