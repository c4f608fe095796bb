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

// ppl's line without its wall time (", 0.1 s"), which a loaded or sanitizer run changes.
std::string without_time(const std::string& out) { return out.substr(0, out.rfind(", ")); }

const std::string kTinyStories = std::string(BITLM_TEST_DATA_DIR) + "/../../models/bitnet-tinystories.gguf";

// --weight-type: a bitlm model for llama.cpp (TQ1_0) and back (T2) runs `ppl` with the same result,
// export/synth/quantize share the option, and a missing type, an unknown one or rows that are not
// whole TQ blocks are one line and exit 2.
TEST(QuantizeCli, WeightTypeRoundTripAndBadInputIsExitTwo) {
  const std::string tiny = tmp("w_tiny.gguf"), tq1 = tmp("w_tq1.gguf"), back = tmp("w_back.gguf"),
                    text = tmp("w_text.txt"), micro = tmp("w_micro.gguf");
  ASSERT_EQ(run("synth --shape tiny --weight-type tq2_0 -o " + tiny).rc, 0);
  CliRun r = run("quantize " + tiny + " -o " + tq1 + " --weight-type tq1_0");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("14 ternary tensors re-encoded as tq1_0"), std::string::npos) << r.err;
  ASSERT_EQ(run("quantize " + tq1 + " -o " + back + " --weight-type t2").rc, 0);
  std::ofstream(text) << "a small text to score, long enough for two windows of sixteen tokens at least\n";
  const CliRun a = run("ppl -m " + tiny + " -f " + text + " -c 16 -t 1");
  const CliRun b = run("ppl -m " + back + " -f " + text + " -c 16 -t 1");
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_EQ(without_time(a.out), without_time(b.out));
  r = run("info -m " + tq1);
  EXPECT_NE(r.out.find("TQ1_0 x14"), std::string::npos) << r.out;

  ASSERT_EQ(run("synth --shape micro -o " + micro).rc, 0);
  for (const std::string& args : {"quantize " + tiny + " -o " + back,                              // no type
                                 "quantize " + micro + " -o " + back + " --weight-type tq2_0",  // D = 128
                                 "synth --shape micro --weight-type tq1_0 -o " + back,
                                 "quantize " + tiny + " -o " + back + " --weight-type iq1_s",
                                 // F = 688, not whole 64-weight IQ2_BN blocks
                                 "quantize " + kTinyStories + " -o " + back + " --weight-type iq2_bn"}) {
    r = run(args);
    EXPECT_EQ(r.rc, 2) << args;
    EXPECT_EQ(lines(r.err), 1) << args << ": " << r.err;
  }
}

// kill -9 while quantize writes its output: no partial file, the previous one kept, a rerun succeeds.
TEST(QuantizeCli, KillNineMidWriteLeavesNoPartialFile) {
  const std::string tiny = tmp("kill_tiny.gguf"), out = tmp("kill_q8.gguf");
  ASSERT_EQ(run("synth --shape tiny -o " + tiny).rc, 0);
  test::expect_kill_mid_write_leaves_no_partial_file({"quantize", tiny, "-o", out, "--embd-type", "q8_0"}, out);
}

}  // namespace
}  // namespace bitlm
