// tests/cli/eval_cli_test.cpp — `bitlm eval ppl` and `bitlm eval tasks` end to end on a synth
// micro model (byte vocab, ctx 128): exit code 0, the markdown table on stdout and the JSON
// report's structure (every task, its metrics in [0, 1], stderr, acc_norm / perplexity where the
// task has them). The task files are the real shared/data ones, read whole, scored with --limit.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
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

const std::string kShared = BITLM_SHARED_DIR;

using test::CliRun;
using test::read_all;
const auto tmp = test::tmp_path;
const auto run = test::run_bitlm;

class EvalCli : public testing::Test {
 protected:
  static void SetUpTestSuite() { write_synth_model({.shape = "micro", .seed = 7}, model()); }
  static std::string model() { return tmp("micro.gguf"); }
};

void expect_probability(const nlohmann::json& j, const std::string& key, const std::string& task) {
  ASSERT_TRUE(j.contains(key)) << task << " lacks " << key;
  const double v = j[key].get<double>();
  EXPECT_GE(v, 0.0) << task << "." << key;
  EXPECT_LE(v, 1.0) << task << "." << key;
  ASSERT_TRUE(j.contains(key + "_stderr")) << task;
  EXPECT_GE(j[key + "_stderr"].get<double>(), 0.0) << task;
}

TEST_F(EvalCli, TasksReportHasEveryTaskAndMetric) {
  const std::string json = tmp("tasks.json");
  const CliRun r = run("eval tasks -t 2 --limit 3 -o " + json + " -m " + model() +
                    " --tasks arc_easy,arc_challenge,hellaswag,piqa,winogrande,boolq,openbookqa,lambada");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("| Model | arc_easy (acc_norm)"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(read_all(json));
  EXPECT_EQ(j["model"], model());
  EXPECT_EQ(j["limit"], 3);
  EXPECT_EQ(j["n_ctx"], 128);  // the model's training context, below the 2048 default
  EXPECT_EQ(j["bos"], true);
  EXPECT_EQ(j["act"], "int8");
  EXPECT_GE(j["truncated_continuations"].get<int64_t>(), 0);
  const auto& tasks = j["tasks"];
  ASSERT_EQ(tasks.size(), 8u) << tasks.dump();
  for (const char* t : {"arc_easy", "arc_challenge", "hellaswag", "piqa", "openbookqa"}) {
    ASSERT_TRUE(tasks.contains(t)) << t;
    EXPECT_EQ(tasks[t]["n_docs"], 3) << t;
    expect_probability(tasks[t], "acc", t);
    expect_probability(tasks[t], "acc_norm", t);
  }
  for (const char* t : {"winogrande", "boolq", "lambada"}) {
    ASSERT_TRUE(tasks.contains(t)) << t;
    EXPECT_EQ(tasks[t]["n_docs"], 3) << t;
    expect_probability(tasks[t], "acc", t);
    EXPECT_FALSE(tasks[t].contains("acc_norm")) << t;
  }
  ASSERT_TRUE(tasks["lambada"].contains("perplexity"));
  EXPECT_GT(tasks["lambada"]["perplexity"].get<double>(), 1.0);
}

TEST_F(EvalCli, PerplexityReportCountsTokensAndBytes) {
  const std::string json = tmp("ppl.json");
  const std::string text = kShared + "/fixtures/tiny-bitnet/text.txt";
  const CliRun r = run("eval ppl -t 2 -c 64 --stride 32 -o " + json + " -m " + model() + " --data " + text);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("bits/byte"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(read_all(json));
  ASSERT_EQ(j["perplexity"].size(), 1u);
  const auto& e = j["perplexity"][0];
  EXPECT_EQ(e["file"], text);
  EXPECT_EQ(e["n_ctx"], 64);
  EXPECT_EQ(e["stride"], 32);
  EXPECT_EQ(e["n_docs"], 1);
  EXPECT_EQ(e["n_bytes"], 16384);  // the fixture text is 16 KiB
  // Byte vocab with one merge: about one token per byte, every one scored once.
  EXPECT_GT(e["n_tokens"].get<int64_t>(), 15000);
  EXPECT_LE(e["n_tokens"].get<int64_t>(), 16384);
  const double ppl = e["perplexity"].get<double>(), nll = e["nll_nats"].get<double>();
  EXPECT_TRUE(std::isfinite(ppl) && ppl > 1.0) << ppl;
  EXPECT_NEAR(std::log(ppl), nll / e["n_tokens"].get<double>(), 1e-9);
  EXPECT_NEAR(e["bits_per_byte"].get<double>(), nll / std::log(2.0) / 16384, 1e-9);
}

TEST_F(EvalCli, UnknownTaskIsAOneLineUserError) {
  const CliRun r = run("eval tasks --tasks arc_easy,nope -m " + model());
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace bitlm
