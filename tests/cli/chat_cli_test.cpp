// tests/cli/chat_cli_test.cpp — `bitlm chat` scripted over stdin on a synth micro model (no chat
// template: the plain family): a reply is what generate writes for the rendered conversation,
// a second turn reuses the cache, /reset starts over, and a greedy conversation repeats.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "cli/cli_runner.h"
#include "model/synth.h"

namespace bitlm {
namespace {

using test::CliRun;
const auto tmp = test::tmp_path;
const auto run = test::run_bitlm;

class Chat : public testing::Test {
 protected:
  static void SetUpTestSuite() { write_synth_model({.shape = "micro", .seed = 5}, model()); }
  static std::string model() { return tmp("chat.gguf"); }
  static std::string file(const std::string& name, const std::string& text) {
    const std::string p = tmp(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  static CliRun chat(const std::string& script, const std::string& args = "") {
    return run("chat -n 6 -t 1 --temp 0 " + args + " -m " + model() + " < " + file("script.txt", script));
  }
};

TEST_F(Chat, FirstReplyIsGeneratesOutputForTheRenderedPrompt) {
  const CliRun c = chat("hi\n");
  ASSERT_EQ(c.rc, 0) << c.err;
  const CliRun g = run("generate -n 6 -t 1 --temp 0 -m " + model() + " -f " + file("prompt.txt", "User: hi\nAssistant:"));
  ASSERT_EQ(g.rc, 0) << g.err;
  EXPECT_EQ(c.out, g.out);  // the reply, then a newline (the random model never writes "\nUser:" here)
  EXPECT_NE(c.err.find("plain template"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("1 turns;"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find(", 0 reused"), std::string::npos) << c.err;
}

TEST_F(Chat, NextTurnReusesTheCacheAndResetStartsOver) {
  const CliRun two = chat("hi\nand then?\n");
  ASSERT_EQ(two.rc, 0) << two.err;
  EXPECT_NE(two.err.find("2 turns"), std::string::npos) << two.err;
  EXPECT_EQ(two.err.find(", 0 reused"), std::string::npos) << "the second turn re-read the first: " << two.err;

  const CliRun reset = chat("hi\n/reset\nhi\n");
  ASSERT_EQ(reset.rc, 0) << reset.err;
  EXPECT_NE(reset.err.find("new conversation"), std::string::npos) << reset.err;
  const CliRun one = chat("hi\n");
  EXPECT_EQ(reset.out, one.out + one.out);  // after /reset the same message gets the same reply

  EXPECT_EQ(chat("hi\nand then?\n").out, two.out);  // --temp 0: repeatable
  const CliRun sampled = chat("hi\nand then?\n", "--temp 1 --seed 3");
  EXPECT_EQ(chat("hi\nand then?\n", "--temp 1 --seed 3").out, sampled.out);
}

TEST_F(Chat, CommandsAndEndOfInput) {
  const CliRun r = chat("/nope\n\n/exit\nnever read\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("unknown command '/nope'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("0 turns"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  const CliRun sys = chat("hi\n", "--system 'You tell stories.'");
  const CliRun g = run("generate -n 6 -t 1 --temp 0 -m " + model() + " -f " +
                       file("sys.txt", "You tell stories.\n\nUser: hi\nAssistant:"));
  EXPECT_EQ(sys.out, g.out);
  const CliRun bad = run("chat --top-p 2 -m " + model());
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("--top-p: 2 is above the maximum 1"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace bitlm
