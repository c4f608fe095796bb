// tests/cli/fp_model_cli_test.cpp — the fp twin end to end: a checkpoint of an fp model (the
// papers' FP baseline, no quantizers) goes through `bitlm export` (F16 linear weights), and the
// exported file is recognised by `info`, generates, and evaluates (ppl and tasks).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

#include "cli/cli_runner.h"
#include "model/synth.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"
#include "train/train_model.h"

namespace bitlm {
namespace {

const std::string kShared = BITLM_SHARED_DIR;

using test::CliRun;
using test::read_all;
const auto tmp = test::tmp_path;
const auto run = test::run_bitlm;

class FpModelCli : public testing::Test {
 protected:
  // A freshly initialised fp model with the synth micro model's byte vocab as its tokenizer.
  static void SetUpTestSuite() {
    write_synth_model({.shape = "micro", .seed = 7}, tokenizer());
    TrainConfig cfg;
    cfg.model.n_vocab = 512; cfg.model.n_embd = 64; cfg.model.n_ff = 128; cfg.model.n_layer = 2;
    cfg.model.n_head = 4; cfg.model.n_head_kv = 2; cfg.model.seq_len = 128;
    cfg.model.weight_mode = WeightMode::kFp;
    cfg.tokenizer = tokenizer();
    TrainModel model(cfg.model);
    model.init(5, 0.05f);
    AdamW opt(model.params().size(), cfg.adam);
    save_checkpoint(checkpoint(), cfg, model, opt, {});
  }
  static std::string tokenizer() { return tmp("fp_tok.gguf"); }
  static std::string checkpoint() { return tmp("fp_ckpt.safetensors"); }

  static std::string exported() {
    const std::string path = tmp("fp.gguf");
    const CliRun r = run("export " + checkpoint() + " -o " + path);
    EXPECT_EQ(r.rc, 0) << r.err;
    return path;
  }
};

TEST_F(FpModelCli, ExportedModelSaysItIsFp) {
  const CliRun r = run("info -m " + exported());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("linear weights  fp"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("16.0000 fp linear weights in memory"), std::string::npos) << r.out;  // F16
}

TEST_F(FpModelCli, F32ExportHoldsFourBytesPerWeight) {
  const std::string path = tmp("fp32.gguf");
  ASSERT_EQ(run("export " + checkpoint() + " --type f32 -o " + path).rc, 0);
  const CliRun r = run("info -m " + path);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("32.0000 fp linear weights in memory"), std::string::npos) << r.out;
}

TEST_F(FpModelCli, UnknownExportTypeIsAUsageError) {
  const CliRun r = run("export " + checkpoint() + " --type q8_0 -o " + tmp("never.gguf"));
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--type"), std::string::npos) << r.err;
}

TEST_F(FpModelCli, Generates) {
  const CliRun r = run("generate -t 2 -n 8 --temp 0 -p 'Once upon a time' -m " + exported());
  ASSERT_EQ(r.rc, 0) << r.err;
  // Random weights over a byte vocab: the tokens need not print, so count them.
  EXPECT_NE(r.err.find("generation: 8 tokens"), std::string::npos) << r.err;
}

TEST_F(FpModelCli, Evaluates) {
  const std::string model = exported(), ppl = tmp("fp_ppl.json"), tasks = tmp("fp_tasks.json");
  const CliRun p = run("eval ppl -t 2 -c 64 --stride 32 -o " + ppl + " -m " + model + " --data " + kShared +
                       "/fixtures/tiny-bitnet/text.txt");
  ASSERT_EQ(p.rc, 0) << p.err;
  const double perplexity = nlohmann::json::parse(read_all(ppl))["perplexity"][0]["perplexity"].get<double>();
  EXPECT_TRUE(std::isfinite(perplexity) && perplexity > 1.0) << perplexity;
  const CliRun t = run("eval tasks -t 2 --limit 2 --tasks piqa,lambada -o " + tasks + " -m " + model);
  ASSERT_EQ(t.rc, 0) << t.err;
  const auto j = nlohmann::json::parse(read_all(tasks));
  EXPECT_EQ(j["tasks"]["piqa"]["n_docs"], 2);
  EXPECT_GT(j["tasks"]["lambada"]["perplexity"].get<double>(), 1.0);
}

// Post-training quantization (003 Table 3's baselines): each method writes a model that evaluates;
// 8-bit absmax costs almost nothing, 1-bit costs more; a ternary model and gptq without
// calibration text are refused in one line.
double ppl_of(const std::string& model) {
  const std::string out = tmp("ptq_ppl.json");
  const CliRun p = run("eval ppl -t 2 -c 64 --stride 32 -o " + out + " -m " + model + " --data " + kShared +
                       "/fixtures/tiny-bitnet/text.txt");
  EXPECT_EQ(p.rc, 0) << p.err;
  return p.rc == 0 ? nlohmann::json::parse(read_all(out))["perplexity"][0]["perplexity"].get<double>() : 0.0;
}

TEST_F(FpModelCli, PostTrainingQuantizedModelsEvaluate) {
  const std::string model = exported();
  const double fp = ppl_of(model);
  auto quantize = [&](const std::string& args) {
    const std::string out = tmp("ptq.gguf");
    const CliRun r = run("quantize " + model + " -o " + out + " " + args);
    EXPECT_EQ(r.rc, 0) << args << ": " << r.err;
    return out;
  };
  const double w8a8 = ppl_of(quantize("--ptq absmax --wbits 8 --abits 8"));
  EXPECT_NEAR(w8a8, fp, 0.01 * fp);
  EXPECT_NE(w8a8, fp);  // the activations were rounded: act_bits is in the file
  const CliRun info = run("info -m " + tmp("ptq.gguf"));
  EXPECT_EQ(info.rc, 0) << info.err;
  const double w1 = ppl_of(quantize("--ptq absmax --wbits 1 --abits 8"));
  EXPECT_GT(std::fabs(w1 - fp), std::fabs(w8a8 - fp));
  const std::string calib = kShared + "/fixtures/tiny-bitnet/text.txt";
  const double g4 = ppl_of(quantize("--ptq gptq --wbits 4 --group-size 32 --calib " + calib));
  EXPECT_TRUE(std::isfinite(g4) && g4 > 1.0) << g4;

  const CliRun no_calib = run("quantize " + model + " -o " + tmp("x.gguf") + " --ptq gptq --wbits 4");
  EXPECT_EQ(no_calib.rc, 2);
  EXPECT_NE(no_calib.err.find("--calib"), std::string::npos) << no_calib.err;
  const CliRun ternary = run("quantize " + tokenizer() + " -o " + tmp("x.gguf") + " --ptq absmax --wbits 4");
  EXPECT_EQ(ternary.rc, 2);
  EXPECT_NE(ternary.err.find("fp model"), std::string::npos) << ternary.err;
  const CliRun both = run("quantize " + model + " -o " + tmp("x.gguf") + " --ptq absmax --embd-type f16");
  EXPECT_EQ(both.rc, 2);
}

}  // namespace
}  // namespace bitlm
