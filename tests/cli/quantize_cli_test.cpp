// tests/cli/quantize_cli_test.cpp — `bitlm quantize --embd-type` and `bitlm synth --embd-type q6_k`
// end to end: the re-encoded model runs `ppl`, and a row length Q6_K cannot hold, a missing file or
// an unknown type is one line and exit code 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "cli/cli_runner.h"

namespace bitlm {
namespace {

using test::CliRun;
const auto tmp = test::tmp_path;
const auto run = test::run_bitlm;

int lines(const std::string& s) { return int(std::count(s.begin(), s.end(), '\n')); }

TEST(QuantizeCli, Q6KHeadRunsAndBadInputIsExitTwo) {
  const std::string tiny = tmp("q_tiny.gguf"), q6k = tmp("q_tiny_q6k.gguf"), micro = tmp("q_micro.gguf"),
                    text = tmp("q_text.txt");
  ASSERT_EQ(run("synth --shape tiny -o " + tiny).rc, 0);
  CliRun r = run("quantize " + tiny + " -o " + q6k + " --embd-type q6_k");
  ASSERT_EQ(r.rc, 0) << r.err;
  std::ofstream(text) << "a small text to score, long enough for two windows of sixteen tokens at least\n";
  r = run("ppl -m " + q6k + " -f " + text + " -c 16 -t 1");
  EXPECT_EQ(r.rc, 0) << r.err;

  ASSERT_EQ(run("synth --shape micro -o " + micro).rc, 0);
  for (const std::string& args : {"quantize " + micro + " -o " + q6k + " --embd-type q6_k",  // D = 128
                                 "quantize " + tmp("missing.gguf") + " -o " + q6k + " --embd-type q8_0",
                                 "synth --shape micro --embd-type q6_k -o " + q6k}) {
    r = run(args);
    EXPECT_EQ(r.rc, 2) << args;
    EXPECT_EQ(lines(r.err), 1) << args << ": " << r.err;
  }
  EXPECT_EQ(run("quantize " + micro + " -o " + q6k + " --embd-type q5_k").rc, 2);
}

}  // namespace
}  // namespace bitlm
