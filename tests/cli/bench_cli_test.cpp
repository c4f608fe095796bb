// tests/cli/bench_cli_test.cpp — `bitlm bench` end to end on a synth micro model: exit code 0, the
// llama-bench style table (pp and tg rows), the header figures, lists of tests, JSON and CSV
// output, and exit code 2 for bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

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
  // -b: prompt tokens per forward step; a prompt longer than one step runs as several
  const CliRun b = run("bench -m " + model + " -p 7 -n 0 -t 1 -r 1 -b 3");
  EXPECT_EQ(b.rc, 0) << b.err;
  EXPECT_NE(b.out.find("pp7"), std::string::npos) << b.out;
  EXPECT_EQ(run("bench -m " + model + " -b 0").rc, 2);
  std::remove(model.c_str());
}

// The peak RSS printed is the process's: it reported 9 MiB for a process whose peak was 534 MB (the
// figure was taken before the 512 MiB bandwidth probe). wait4's ru_maxrss (KiB; mmapped file pages
// count) is the kernel's figure for the process.
TEST(BenchCli, PeakRssIsTheProcesss) {
  const std::string model = tmp("micro_rss.gguf"), out = tmp("rss_stdout.txt");
  write_synth_model({.shape = "micro", .seed = 4}, model);
  const std::string cmd = "exec " + test::kBitlmBin + " bench -m " + model + " -p 4 -n 2 -t 1 -r 1 > " + out;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage u{};
  ASSERT_EQ(wait4(pid, &status, 0, &u), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const std::string text = read_all(out);
  const size_t at = text.find("peak RSS ");
  ASSERT_NE(at, std::string::npos) << text;
  const double reported_mib = std::stod(text.substr(at + 9));
  EXPECT_GE(reported_mib + 1, double(u.ru_maxrss) / 1024) << text;
}

// -p 0 -n 0 crashed (exit 139: the warm-up read a token of an empty list).
TEST(BenchCli, NothingToMeasureIsAnError) {
  const std::string model = tmp("micro0.gguf");
  write_synth_model({.shape = "micro", .seed = 4}, model);
  const CliRun r = run("bench -m " + model + " -p 0 -n 0");
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("nothing to measure"), std::string::npos) << r.err;
}

// llama-bench's lists: every thread count runs every pp and tg test, in that order.
TEST(BenchCli, ListsAndJson) {
  const std::string model = tmp("micro_lists.gguf");
  write_synth_model({.shape = "micro", .seed = 4}, model);
  const CliRun r = run("bench -m " + model + " -p 4,8 -n 0,3 -t 1,2 -r 2 -o json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 6u) << j.dump(1);
  const char* tests[] = {"pp4", "pp8", "tg3", "pp4", "pp8", "tg3"};
  for (size_t i = 0; i < j.size(); ++i) {
    EXPECT_EQ(j[i]["test"], tests[i]) << i;
    EXPECT_EQ(j[i]["n_threads"], i < 3 ? 1 : 2) << i;
    EXPECT_EQ(j[i]["samples_ts"].size(), 2u);
    EXPECT_GT(j[i]["avg_ts"].get<double>(), 0);
    EXPECT_EQ(j[i]["model_filename"], model);
  }
  // tg rows carry the decode roofline; a read probe as large as the decode step keeps it sane
  EXPECT_GT(j[2]["read_gbs"].get<double>(), 0);
  EXPECT_GT(j[2]["bandwidth_share"].get<double>(), 0);
  EXPECT_EQ(j[0]["read_gbs"].get<double>(), 0);
}

TEST(BenchCli, JsonLines) {
  const std::string model = tmp("micro_jsonl.gguf");
  write_synth_model({.shape = "micro", .seed = 4}, model);
  const CliRun r = run("bench -m " + model + " -p 4 -n 2 -t 1 -r 1 -o jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out.substr(0, r.out.find('\n')))["test"], "pp4") << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out.substr(r.out.find('\n') + 1))["test"], "tg2") << r.out;
}

TEST(BenchCli, Csv) {
  const std::string model = tmp("micro_csv.gguf");
  write_synth_model({.shape = "micro", .seed = 4}, model);
  const CliRun r = run("bench -m " + model + " -p 4 -n 2 -t 1 -r 1 -o csv");
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;  // a header and two tests
  EXPECT_EQ(r.out.rfind("model_filename,model_type,", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(",\"pp4\","), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(",\"tg2\","), std::string::npos) << r.out;
}

}  // namespace
}  // namespace bitlm
