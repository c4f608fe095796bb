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

#include "cli/cli_runner.h"
#include "model/synth.h"

namespace bitlm {
namespace {

using test::CliRun;
using test::read_all;
const auto tmp = test::tmp_path;
const auto run = test::run_bitlm;

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
