// tests/cli/usability_cli_test.cpp — the rough edges a new user hit (issue 12 item 6), each
// pinned on a synth micro model (byte vocab, training context 128): option ranges are one line
// and exit 2; generate's random, printed seed, its -f / stdin prompt and --json; a context past
// the trained one is warned about and never the default; `info` names the tensor types; empty
// perplexity inputs are errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <string>

#include "cli/cli_runner.h"
#include "core/ggml_types.h"
#include "model/synth.h"
#include "quant/kernels.h"
#include "quant/packed_layout.h"

namespace bitlm {
namespace {

using test::CliRun;
const auto tmp = test::tmp_path;
const auto run = test::run_bitlm;

class Usability : public testing::Test {
 protected:
  static void SetUpTestSuite() { write_synth_model({.shape = "micro", .seed = 11}, model()); }
  static std::string model() { return tmp("usability.gguf"); }
  static std::string text_file(const std::string& name, const std::string& text) {
    const std::string p = tmp(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  static void expect_one_line_error(const std::string& args, const std::string& want) {
    const CliRun r = run(args);
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(want), std::string::npos) << "want '" << want << "' in: " << r.err;
    EXPECT_EQ(r.err.find("1797693"), std::string::npos) << "DBL_MAX printed: " << r.err;
  }
};

TEST_F(Usability, OutOfRangeOptionsAreOneLineErrors) {
  const std::string gen = "generate -n 2 -p hi -m " + model();
  expect_one_line_error(gen + " --temp -1", "--temp: -1 is below the minimum 0");
  expect_one_line_error(gen + " --top-p 2", "--top-p: 2 is above the maximum 1");
  expect_one_line_error(gen + " --min-p -0.5", "--min-p: -0.5 is below the minimum 0");
  expect_one_line_error(gen + " --repeat-penalty 0", "--repeat-penalty: 0 must be above 0");
  expect_one_line_error("generate -n -1 -p hi -m " + model(), "--n-predict: -1 is below the minimum 0");
  expect_one_line_error("bench -r 0 -m " + model(), "--repetitions: 0 is below the minimum 1");
  expect_one_line_error("bench -p 8,-3 -m " + model(), "-3 is below the minimum 0");
  expect_one_line_error("generate -p hi", "--model is required");
  // every command that takes -t: a new command's ranges must read the same
  for (const char* command : {"generate -p hi", "bench", "ppl -f x", "eval ppl --data /dev/null", "eval tasks",
                              "report", "serve"})
    expect_one_line_error(std::string(command) + " -t -1 -m " + model(), "--threads: -1 is below the minimum 0");
}

TEST_F(Usability, HelpShowsDefaults) {
  const CliRun r = run("generate --help");
  EXPECT_EQ(r.rc, 0);
  for (const char* want : {"=0.8", "=0.95", "=64", "=random", "=f16"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << " in\n" << r.out;
}

TEST_F(Usability, SeedIsRandomPrintedAndRepeatable) {
  const std::string gen = "generate -n 12 -t 1 --temp 1.5 --top-k 0 --min-p 0 -p hi -m " + model();
  const CliRun a = run(gen), b = run(gen);
  ASSERT_EQ(a.rc, 0) << a.err;
  const auto seed_of = [](const std::string& err) {
    const size_t at = err.find("seed ");
    return at == std::string::npos ? std::string() : err.substr(at + 5, err.find('\n', at) - at - 5);
  };
  ASSERT_FALSE(seed_of(a.err).empty()) << a.err;
  EXPECT_NE(seed_of(a.err), seed_of(b.err)) << "two runs without --seed drew the same seed";
  const CliRun again = run(gen + " --seed " + seed_of(a.err));
  EXPECT_EQ(again.out, a.out) << "--seed " << seed_of(a.err) << " did not repeat the run";
  EXPECT_EQ(seed_of(again.err), seed_of(a.err));
  // llama.cpp's habit: --seed -1 asks for a random seed, not the seed 2^64 - 1.
  const CliRun c = run(gen + " --seed -1"), d = run(gen + " --seed -1");
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_NE(seed_of(c.err), "18446744073709551615");
  EXPECT_NE(seed_of(c.err), seed_of(d.err)) << "two runs with --seed -1 drew the same seed";
}

TEST_F(Usability, PromptFromFileOrStdin) {
  const std::string gen = "generate -n 6 -t 1 --temp 0 -m " + model();
  const CliRun inline_prompt = run(gen + " -p 'Once upon'");
  ASSERT_EQ(inline_prompt.rc, 0) << inline_prompt.err;
  const std::string file = text_file("prompt.txt", "Once upon\n");  // the trailing newline is dropped
  const CliRun from_file = run(gen + " -f " + file);
  EXPECT_EQ(from_file.rc, 0) << from_file.err;
  EXPECT_EQ(from_file.out, inline_prompt.out);
  EXPECT_EQ(run(gen + " -f - < " + file).out, inline_prompt.out);
  EXPECT_EQ(run(gen + " < " + file).out, inline_prompt.out);  // neither -p nor -f: stdin, not a terminal
  expect_one_line_error(gen + " -f " + tmp("no_such_prompt.txt"), "no_such_prompt.txt");
  expect_one_line_error(gen + " < /dev/null", "no prompt");
  const CliRun both = run(gen + " -p x -f " + file);
  EXPECT_EQ(both.rc, 2) << both.err;
}

TEST_F(Usability, GenerateJson) {
  const CliRun r = run("generate --json -n 5 -t 1 --temp 0 --seed 7 -p hello -m " + model());
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prompt"], "hello");
  EXPECT_EQ(j["seed"], 7);
  EXPECT_EQ(j["n_prompt"], 6);  // BOS + 5 bytes
  EXPECT_EQ(j["tokens"].size(), j["n_generated"].get<size_t>());
  EXPECT_TRUE(j["text"].is_string());
  EXPECT_TRUE(j["stop"] == "length" || j["stop"] == "eos") << j["stop"];
  for (const char* k : {"prompt_ms", "generate_ms", "prompt_tokens_per_s", "generate_tokens_per_s"})
    EXPECT_TRUE(j["timings"].contains(k)) << k;
}

// A context past the trained one runs (extrapolation is a legitimate study) but says so, and no
// default exceeds it: ppl's 512 and generate's 4096 are capped at the micro model's 128.
TEST_F(Usability, ContextBeyondTrainingIsWarnedAndNeverTheDefault) {
  const CliRun beyond = run("generate -n 2 -t 1 -c 1000 -p hi -m " + model());
  EXPECT_EQ(beyond.rc, 0) << beyond.err;
  EXPECT_NE(beyond.err.find("context 1000 is beyond the 128 positions"), std::string::npos) << beyond.err;
  const CliRun json = run("generate --json -n 2 -t 1 -p hi -m " + model());
  EXPECT_EQ(nlohmann::json::parse(json.out)["n_ctx"], 128);
  EXPECT_EQ(json.err.find("beyond"), std::string::npos) << json.err;
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the cat sat on the mat. ";
  const CliRun ppl = run("ppl -t 1 -f " + text_file("ppl.txt", text) + " -m " + model());
  EXPECT_EQ(ppl.rc, 0) << ppl.err;
  EXPECT_NE(ppl.out.find("ctx 128"), std::string::npos) << ppl.out;
  EXPECT_EQ(ppl.err.find("beyond"), std::string::npos) << ppl.err;
}

TEST_F(Usability, EmptyTextIsAnError) {
  const std::string empty = text_file("empty.txt", "");
  expect_one_line_error("eval ppl -t 1 --data " + empty + " -m " + model(), "no text to score");
  expect_one_line_error("ppl -t 1 -f " + empty + " -m " + model(), "no text to score");
}

// info lists the file's tensor types by role and the layout each was repacked to.
TEST_F(Usability, InfoNamesStoredAndInMemoryTypes) {
  const CliRun r = run("info -m " + model());
  ASSERT_EQ(r.rc, 0) << r.err;
  // The T2 file stays T2 where T2 is this machine's layout (AVX2), else it is repacked (AVX-512: T1).
  const std::string mem = ggml_type_name(load_layout(kGgmlBitlmT2));
  EXPECT_NE(r.out.find("linear        BITLM_T2 x14 -> " + mem + " x14" +
                       (mem == "BITLM_T2" ? " (as stored)" : " (repacked at load)")),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("embedding     F16 x1 -> F16"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("norms         F32 x"), std::string::npos) << r.out;
}

// Issue 14: a TQ1_0 file stays 1.6 bits per weight in memory (T1), on every machine; BITLM_LAYOUT
// =fastest puts it into this CPU's fastest layout instead, and info says which.
TEST_F(Usability, InfoShowsATq1FileStaysOnePointSixBits) {
  const std::string tq1 = tmp("usability_tq1.gguf");
  ASSERT_EQ(run("synth --shape tiny --weight-type tq1_0 -o " + tq1).rc, 0);
  const CliRun r = run("info -m " + tq1);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("linear        TQ1_0 x14 -> BITLM_T1 x14 (repacked at load)"), std::string::npos) << r.out;
  const std::string fastest = ggml_type_name(best_kernels().fastest_layout);
  const CliRun g = test::run_bitlm_env("BITLM_LAYOUT=fastest", "info -m " + tq1);
  ASSERT_EQ(g.rc, 0) << g.err;
  EXPECT_NE(g.out.find("linear        TQ1_0 x14 -> " + fastest + " x14 (repacked at load)"), std::string::npos) << g.out;
  const CliRun bad = test::run_bitlm_env("BITLM_LAYOUT=t3", "info -m " + tq1);
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("BITLM_LAYOUT=t3 is not one of file, fastest, t2, t1"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace bitlm
