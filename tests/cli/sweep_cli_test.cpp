// tests/cli/sweep_cli_test.cpp — `bitlm sweep` end to end on a tiny grid (seconds): data prepared
// from text with the bundled tokenizer, every run trained, exported, evaluated (held-out loss,
// one task) and its results written to the results folder, the report built; a second run does
// nothing; with the run folders (checkpoints) gone, the report is rebuilt from the results alone.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace bitlm {
namespace {

using test::read_all;
using test::run_bitlm;
using test::tmp_path;

const std::string kTokenizer = std::string(BITLM_TEST_DATA_DIR) + "/../../models/bitnet-tinystories.gguf";

std::string tiny_grid(const std::string& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string text;
  for (int i = 0; i < 30; ++i)
    text += "Once upon a time, a little cat named Tom " + std::to_string(i) +
            " found a red ball in the park. He was very happy.\n<|endoftext|>\n";
  std::ofstream(dir + "/train.txt") << text;
  std::ofstream(dir + "/valid.txt") << text.substr(0, 600);
  nlohmann::json j = nlohmann::json::parse(R"({
    "name": "tiny",
    "base": {"model": {"seq_len": 16}, "steps": 4, "batch_size": 2, "checkpoint_every": 2, "threads": 1,
             "eval_every": 2, "eval_batches": 1,
             "schedule": {"kind": "two_stage", "lr": 0.01, "lr_stage2": 0.005, "warmup_steps": 1}},
    "sizes": [{"name": "a", "model": {"n_embd": 16, "n_ff": 32, "n_layer": 1, "n_head": 2, "n_head_kv": 2}},
              {"name": "b", "model": {"n_embd": 32, "n_ff": 64, "n_layer": 1, "n_head": 2, "n_head_kv": 2}},
              {"name": "c", "model": {"n_embd": 32, "n_ff": 64, "n_layer": 2, "n_head": 2, "n_head_kv": 2}}],
    "weight_modes": ["b1.58", "b1", "fp"],
    "extra_runs": [{"name": "a-b1-preln", "size": "a", "weight_mode": "b1", "note": "pre-LN",
                    "config": {"model": {"arch": "llama"}}}],
    "eval": {"tasks": "piqa", "task_limit": 4},
    "ptq": [{"method": "absmax", "wbits": 4, "abits": 4}, {"method": "absmax", "wbits": 1.58, "abits": 8},
            {"method": "gptq", "wbits": 2, "abits": 16, "group_size": 16}]})");
  j["data_tokenizer"] = kTokenizer;
  j["data"] = {{{"text", dir + "/train.txt"}, {"prefix", dir + "/data/train"}}};
  j["base"]["train_data"] = dir + "/data/train";
  j["base"]["valid_data"] = dir + "/data/train";
  j["base"]["tokenizer"] = kTokenizer;
  j["out_dir"] = dir + "/runs";
  j["results_dir"] = dir + "/results";
  j["eval"]["heldout"] = {dir + "/valid.txt"};
  std::ofstream(dir + "/sweep.json") << j.dump(2);
  return dir + "/sweep.json";
}

TEST(SweepCli, TinyGridEndToEndAndTheReportFromResultsAlone) {
  const std::string dir = tmp_path("sweep_grid");
  const std::string cfg = tiny_grid(dir);
  const auto first = run_bitlm("sweep -c " + cfg);
  ASSERT_EQ(first.rc, 0) << first.err;
  for (const char* run : {"a-b1.58", "a-b1", "a-fp", "b-b1.58", "b-b1", "b-fp", "c-b1.58", "c-b1", "c-fp", "a-b1-preln"}) {
    const std::string result = dir + "/results/" + run + "/result.json";
    ASSERT_TRUE(std::filesystem::exists(result)) << run;
    const auto r = nlohmann::json::parse(read_all(result));
    EXPECT_EQ(r["train"]["last_step"], 4) << run;
    EXPECT_GT(r["eval"]["heldout"][0]["loss"].get<double>(), 0) << run;
    EXPECT_EQ(r["eval"]["tasks"]["piqa"]["n_docs"], 4) << run;
    EXPECT_FALSE(std::filesystem::exists(dir + "/results/" + run + "/checkpoint.safetensors"));
  }
  for (const char* ptq : {"absmax-w4a4", "absmax-w1.58a8", "gptq-w2a16-g16"})
    for (const char* size : {"a", "b", "c"}) {
      const std::string result = dir + "/results/" + size + "-fp-" + ptq + "/result.json";
      ASSERT_TRUE(std::filesystem::exists(result)) << result;
      const auto r = nlohmann::json::parse(read_all(result));
      EXPECT_GT(r["eval"]["heldout"][0]["loss"].get<double>(), 0) << result;
      EXPECT_GT(r["ptq"]["weight_mse"].get<double>(), 0) << result;
    }
  const std::string report = read_all(dir + "/results/report.md");
  EXPECT_NE(report.find("c: fp + gptq PTQ, W2A16, group 16"), std::string::npos) << report;
  EXPECT_NE(report.find("| a b1.58 |"), std::string::npos) << report;
  EXPECT_NE(report.find("| b1.58 | a·(N/N0)^-α + c |"), std::string::npos) << report;
  EXPECT_NE(report.find("b1.58 − fp gap goes from"), std::string::npos) << report;
  EXPECT_NE(report.find("| a-b1-preln | pre-LN | a-b1 |"), std::string::npos) << report;
  EXPECT_NE(read_all(dir + "/results/scaling.svg").find("<svg"), std::string::npos);
  EXPECT_NE(read_all(dir + "/results/energy.svg").find("<svg"), std::string::npos);

  // Again: every run is done; nothing is trained or evaluated.
  const auto again = run_bitlm("sweep -c " + cfg);
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_EQ(again.err.find("training"), std::string::npos) << again.err;
  EXPECT_EQ(again.err.find("evaluating"), std::string::npos) << again.err;
  const auto plan = run_bitlm("sweep -c " + cfg + " --dry-run");
  EXPECT_NE(plan.out.find("| a-fp | fp |"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("| done |"), std::string::npos) << plan.out;

  // A new machine: the run folders are gone, the committed results are not.
  std::filesystem::remove_all(dir + "/runs");
  std::filesystem::remove(dir + "/results/report.md");
  const auto rebuilt = run_bitlm("sweep -c " + cfg + " --report");
  ASSERT_EQ(rebuilt.rc, 0) << rebuilt.err;
  EXPECT_EQ(read_all(dir + "/results/report.md"), report);
  EXPECT_FALSE(std::filesystem::exists(dir + "/runs"));
}

}  // namespace
}  // namespace bitlm
