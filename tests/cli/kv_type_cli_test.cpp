// tests/cli/kv_type_cli_test.cpp — `--kv-type f16|q8|q4` end to end on a synth micro model: every
// command that runs a Forward takes it, `info` and `bench` print the cache's size, and a bad value
// (or peer numerics that model an f16 cache) is one line and exit code 2.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "cli/cli_runner.h"
#include "model/synth.h"

namespace bitlm {
namespace {

using test::CliRun;
const auto tmp = test::tmp_path;
const auto run = test::run_bitlm;

TEST(KvTypeCli, EveryForwardCommandTakesIt) {
  const std::string model = tmp("kv_micro.gguf"), text = tmp("kv_text.txt");
  write_synth_model({.shape = "micro", .seed = 5}, model);
  std::ofstream(text) << "a small text to score, long enough for two windows of sixteen tokens at least, "
                         "with a few more words after it\n";
  for (const char* kv : {"f16", "q8", "q4"}) {
    const std::string opt = std::string(" --kv-type ") + kv;
    CliRun r = run("generate -m " + model + " -p hello -n 4 -t 1" + opt);
    EXPECT_EQ(r.rc, 0) << kv << r.err;
    r = run("ppl -m " + model + " -f " + text + " -c 16 -t 1" + opt);
    EXPECT_EQ(r.rc, 0) << kv << r.err;
    r = run("eval ppl -m " + model + " --data " + text + " -c 16 -t 1" + opt);
    EXPECT_EQ(r.rc, 0) << kv << r.err;
    r = run("bench -m " + model + " -p 4 -n 2 -d 8 -r 1 -t 1" + opt);
    EXPECT_EQ(r.rc, 0) << kv << r.err;
    EXPECT_NE(r.out.find(std::string("kv cache: ") + kv), std::string::npos) << r.out;
  }
  const CliRun info = run("info -m " + model);
  EXPECT_EQ(info.rc, 0);
  for (const char* want : {"kv cache", "f16", "q8", "q4"}) EXPECT_NE(info.out.find(want), std::string::npos) << info.out;

  const CliRun bad = run("generate -m " + model + " -p hello --kv-type q3");
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("--kv-type"), std::string::npos) << bad.err;
  const CliRun flash = run("generate -m " + model + " -p hello -n 1 --kv-type q4 --numerics llama.cpp");
  EXPECT_EQ(flash.rc, 2);
  EXPECT_NE(flash.err.find("f16 KV cache"), std::string::npos) << flash.err;
  std::remove(model.c_str());
  std::remove(text.c_str());
}

}  // namespace
}  // namespace bitlm
