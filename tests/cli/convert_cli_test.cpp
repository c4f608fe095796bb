// tests/cli/convert_cli_test.cpp — `bitlm convert` end to end on the Hugging Face fixtures of
// tests/data/hf (tools/reference/hf_fixtures.py): the converted 2B-4T-layout checkpoint generates
// the same text as the same weights written directly as GGUF by the fixture script
// (bitnet-2b4t.direct.gguf: ternary F16 weights, no bitlm code involved), and bad input is one line
// with exit code 2 and no output file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "cli/cli_runner.h"

namespace bitlm {
namespace {

using test::CliRun;
const auto tmp = test::tmp_path;
const auto run = test::run_bitlm;
const std::string kHf = std::string(BITLM_TEST_DATA_DIR) + "/hf/";

int lines(const std::string& s) { return int(std::count(s.begin(), s.end(), '\n')); }

TEST(ConvertCli, ConvertThenGenerateEqualsTheDirectGguf) {
  const std::string out = tmp("conv_2b4t.gguf");
  CliRun r = run("convert " + kHf + "bitnet-2b4t -o " + out);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("BitNetForCausalLM"), std::string::npos) << r.err;
  const std::string gen = " -p 'Once upon a time' -n 12 --temp 0 --seed 1 -t 1 --json";
  const CliRun a = run("generate -m " + out + gen);
  const CliRun b = run("generate -m " + kHf + "bitnet-2b4t.direct.gguf" + gen);
  ASSERT_EQ(a.rc, 0) << a.err;
  ASSERT_EQ(b.rc, 0) << b.err;
  const auto tokens = [](const std::string& json) { return json.substr(json.find("\"tokens\""), 200); };
  EXPECT_EQ(tokens(a.out), tokens(b.out));
  for (const char* type : {"t2", "t1"}) {  // either layout: the same integers, the same text
    const CliRun c = run("convert " + kHf + "bitnet-2b4t -o " + out + " --weight-type " + type);
    ASSERT_EQ(c.rc, 0) << c.err;
    EXPECT_EQ(tokens(run("generate -m " + out + gen).out), tokens(a.out)) << type;
  }
}

TEST(ConvertCli, BadInputIsOneLineExitTwoAndNoFile) {
  const std::string out = tmp("conv_bad.gguf");
  for (const std::string& args : {std::string("/nonexistent/dir"), kHf + "bitnet-2b4t --weight-type tq2_0",
                                  kHf + "bitnet-2b4t --weight-type t9", kHf + "bitnet-2b4t --embd-type q6_k"}) {
    const CliRun r = run("convert " + args + " -o " + out);
    EXPECT_EQ(r.rc, 2) << args << ": " << r.err;
    EXPECT_EQ(lines(r.err), 1) << args << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << args;
  }
}

// kill -9 while convert writes the GGUF: no partial file, the previous one kept, a rerun succeeds.
TEST(ConvertCli, KillNineMidWriteLeavesNoPartialFile) {
  const std::string out = tmp("kill_conv.gguf");
  test::expect_kill_mid_write_leaves_no_partial_file({"convert", kHf + "bitnet-2b4t", "-o", out}, out);
}

}  // namespace
}  // namespace bitlm
