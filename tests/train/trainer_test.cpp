// tests/train/trainer_test.cpp — the training loop end to end on byte-token shards: an
// interrupted run resumed from its checkpoint gives bit-for-bit the same losses and weights as an
// uninterrupted one; corrupt and mismatched checkpoints are refused; config parsing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/train_test_util.h"
#include "train/trainer.h"

namespace bitlm {
namespace {

std::string temp_dir(const std::string& name) { return test::fresh_temp_dir("trainer_test", name); }

TrainConfig small_config(const std::string& data, const std::string& out) {
  TrainConfig c = TrainConfig::from_json(nlohmann::json::parse(R"({
    "model": {"n_embd": 16, "n_ff": 32, "n_layer": 1, "n_head": 2, "n_head_kv": 1, "seq_len": 8},
    "schedule": {"kind": "two_stage", "lr": 0.01, "lr_stage2": 0.005, "warmup_steps": 2},
    "steps": 6, "batch_size": 2, "grad_accum": 2, "checkpoint_every": 0, "threads": 2})"), "test");
  c.train_data = data;
  c.out_dir = out;
  return c;
}

std::string byte_shards() { return test::byte_story_shards(temp_dir("data")); }

std::vector<double> losses(const std::string& metrics_path) {
  std::ifstream f(metrics_path);
  std::vector<double> out;
  for (std::string line; std::getline(f, line);) out.push_back(nlohmann::json::parse(line)["loss"].get<double>());
  return out;
}

TEST(Trainer, ResumedRunIsBitIdenticalToAnUninterruptedOne) {
  const std::string data = byte_shards();
  const auto full_cfg = small_config(data, temp_dir("full"));
  TrainOptions quiet;
  quiet.progress = false;
  const TrainResult full = run_training(full_cfg, quiet);
  EXPECT_EQ(full.steps_done, 6);
  EXPECT_FALSE(full.interrupted);

  const auto cut_cfg = small_config(data, temp_dir("cut"));
  TrainOptions first = quiet;
  first.stop_after_steps = 3;
  const TrainResult part = run_training(cut_cfg, first);
  EXPECT_TRUE(part.interrupted);
  EXPECT_EQ(part.steps_done, 3);
  TrainOptions resume = quiet;
  resume.resume = cut_cfg.out_dir + "/checkpoint.safetensors";
  const TrainResult rest = run_training(cut_cfg, resume);
  EXPECT_EQ(rest.steps_done, 6);

  const auto a = losses(full_cfg.out_dir + "/metrics.jsonl"), b = losses(cut_cfg.out_dir + "/metrics.jsonl");
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a, b);  // exact
  const auto fa = SafetensorsFile::open(full_cfg.out_dir + "/checkpoint.safetensors");
  const auto fb = SafetensorsFile::open(cut_cfg.out_dir + "/checkpoint.safetensors");
  EXPECT_EQ(fa->metadata().at("crc32"), fb->metadata().at("crc32"));
  EXPECT_EQ(fa->read_f32("param.blk.0.ffn_down.weight"), fb->read_f32("param.blk.0.ffn_down.weight"));
  EXPECT_LT(a.back(), a.front());
}

// With 2 or 3 threads the sequences of a micro-batch run side by side on copies of the model (3
// sequences: rounds of 2 + 1 and one of 3); the run must equal the one-thread run bit for bit.
TEST(Trainer, ThreadCountDoesNotChangeTheRun) {
  const std::string data = byte_shards();
  TrainOptions quiet;
  quiet.progress = false;
  std::vector<std::string> crcs;
  std::vector<std::vector<double>> runs;
  for (int threads : {1, 2, 3}) {
    auto cfg = small_config(data, temp_dir(fmt::format("threads{}", threads)));
    cfg.threads = threads;
    cfg.batch_size = 3;
    run_training(cfg, quiet);
    runs.push_back(losses(cfg.out_dir + "/metrics.jsonl"));
    crcs.push_back(SafetensorsFile::open(cfg.out_dir + "/checkpoint.safetensors")->metadata().at("crc32"));
  }
  EXPECT_TRUE(runs[0] == runs[1] && runs[0] == runs[2]);
  EXPECT_TRUE(crcs[0] == crcs[1] && crcs[0] == crcs[2]) << crcs[0] << " " << crcs[1] << " " << crcs[2];
}

// "matmul_precision": "bf16" rounds dY in the BitLinear backward: the losses follow fp32 closely
// (measured on this config: largest relative difference 3.2e-4 over 12 steps), and still fall.
TEST(Trainer, Bf16BackwardLossStaysCloseToFp32) {
  const std::string data = byte_shards();
  TrainOptions quiet;
  quiet.progress = false;
  const std::string fp32_dir = temp_dir("fp32");
  auto cfg = small_config(data, fp32_dir);
  cfg.steps = cfg.schedule.total_steps = 12;
  run_training(cfg, quiet);
  cfg.out_dir = temp_dir("bf16");
  cfg.model.matmul_precision = MatmulPrecision::kBf16;
  run_training(cfg, quiet);
  const auto a = losses(fp32_dir + "/metrics.jsonl"), b = losses(cfg.out_dir + "/metrics.jsonl");
  ASSERT_EQ(a.size(), 12u);
  ASSERT_EQ(b.size(), 12u);
  EXPECT_EQ(a.front(), b.front());  // the forward is untouched
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]) / a[i]);
  EXPECT_LT(worst, 1e-2);
  EXPECT_GT(worst, 0.0);  // bf16 did run
  EXPECT_LT(b.back(), b.front());
}

TEST(Trainer, CorruptOrMismatchedCheckpointIsRefused) {
  const std::string data = byte_shards();
  auto cfg = small_config(data, temp_dir("refuse"));
  cfg.steps = 1;
  TrainOptions quiet;
  quiet.progress = false;
  run_training(cfg, quiet);
  const std::string ckpt = cfg.out_dir + "/checkpoint.safetensors";
  TrainOptions resume = quiet;
  resume.resume = ckpt;

  auto other = cfg;
  other.model.n_embd = 32;
  try {
    run_training(other, resume);
    FAIL() << "a checkpoint of another model shape was loaded";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("model.n_embd = 16 there, 32 here"), std::string::npos) << e.what();
  }
  auto batch = cfg;
  batch.batch_size = 3;
  EXPECT_THROW(run_training(batch, resume), UserError);

  const std::string corrupt = cfg.out_dir + "/corrupt.safetensors";
  std::filesystem::copy_file(ckpt, corrupt);
  {
    std::fstream f(corrupt, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-10, std::ios::end);  // inside the last tensor's data
    f.put('\x7f');
  }
  resume.resume = corrupt;
  try {
    run_training(cfg, resume);
    FAIL() << "a corrupt checkpoint was loaded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("checksum mismatch"), std::string::npos) << e.what();
  }
}

// model.act_quant "elastic" (003 Table 9): the scales are calibrated from the first batch, learned
// (they move), saved in the checkpoint (a run cut after 3 steps resumes bit for bit), written in the
// config only when elastic, and refused where they cannot apply; the run's loss falls.
TEST(Trainer, ElasticActivationQuantizerTrainsAndResumesBitIdentically) {
  const std::string data = byte_shards();
  TrainOptions quiet;
  quiet.progress = false;
  auto elastic = [&](const std::string& name) {
    auto cfg = small_config(data, temp_dir(name));
    cfg.model.weight_mode = WeightMode::kBinary;
    cfg.model.elastic_act = true;
    cfg.threads = 2;
    cfg.batch_size = 3;  // sequence runners: every copy must start from the calibrated scales
    return cfg;
  };
  const auto full_cfg = elastic("elastic_full");
  run_training(full_cfg, quiet);
  const auto cut_cfg = elastic("elastic_cut");
  TrainOptions first = quiet;
  first.stop_after_steps = 3;
  run_training(cut_cfg, first);
  TrainOptions resume = quiet;
  resume.resume = cut_cfg.out_dir + "/checkpoint.safetensors";
  run_training(cut_cfg, resume);
  const auto a = losses(full_cfg.out_dir + "/metrics.jsonl"), b = losses(cut_cfg.out_dir + "/metrics.jsonl");
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a, b);
  EXPECT_LT(a.back(), a.front());
  const auto fa = SafetensorsFile::open(full_cfg.out_dir + "/checkpoint.safetensors");
  const auto fb = SafetensorsFile::open(cut_cfg.out_dir + "/checkpoint.safetensors");
  EXPECT_EQ(fa->metadata().at("crc32"), fb->metadata().at("crc32"));
  const auto alpha = fa->read_f32("param.blk.0.attn_qkv.act_scale");
  ASSERT_EQ(alpha.size(), 1u);
  EXPECT_GT(alpha[0], 0.0f);
  EXPECT_EQ(fa->read_f32("param.blk.0.ffn_down.act_scale"), fb->read_f32("param.blk.0.ffn_down.act_scale"));
  EXPECT_NE(fa->read_f32("adam_m.blk.0.ffn_down.act_scale")[0], 0.0f);  // it is learned
  EXPECT_EQ(checkpoint_config(resume.resume).model.elastic_act, true);
  // An absmax config cannot resume an elastic checkpoint (nor the reverse): the model differs.
  auto absmax = checkpoint_config(resume.resume);  // n_vocab from the data
  absmax.model.elastic_act = false;
  TrainModel m(absmax.model);
  AdamW opt(m.params().size(), {});
  EXPECT_THROW(load_checkpoint(resume.resume, absmax, m, opt), UserError);
  // Absmax configs do not write the key (their checkpoints keep their bytes).
  EXPECT_FALSE(absmax.model_json().contains("act_quant"));
  EXPECT_EQ(cut_cfg.model_json()["act_quant"], "elastic");
  auto fp = absmax;
  fp.model.elastic_act = true;
  fp.model.weight_mode = WeightMode::kFp;
  EXPECT_THROW(fp.validate(), UserError);
  EXPECT_THROW(TrainConfig::from_json(nlohmann::json::parse(R"({"model": {"act_quant": "lsq"}})"), "x.json"),
               FormatError);
}

TEST(TrainConfig, DefaultsUnknownKeysAndBadValues) {
  const TrainConfig d = TrainConfig::from_json(nlohmann::json::object(), "x.json");
  EXPECT_EQ(d.model.n_vocab, 0);  // from the data
  EXPECT_EQ(d.schedule.kind, ScheduleKind::kTwoStage);
  EXPECT_EQ(d.grad_clip, 0.0f);  // off by default, as in the papers
  EXPECT_THROW(TrainConfig::from_json(nlohmann::json::parse(R"({"stpes": 3})"), "x.json"), FormatError);
  EXPECT_THROW(TrainConfig::from_json(nlohmann::json::parse(R"({"model": {"weight_mode": "b2"}})"), "x.json"), UserError);
  EXPECT_THROW(TrainConfig::from_json(nlohmann::json::parse(R"({"steps": "many"})"), "x.json"), FormatError);
  // Found by tests/fuzz/train_config_fuzz.cpp: a number past double's range made nlohmann throw
  // out_of_range, which from_file did not catch (the CLI said "internal error", exit 1).
  try {
    TrainConfig::from_file(std::string(BITLM_TEST_DATA_DIR) + "/fuzz/train_config/number_overflow.json");
    ADD_FAILURE() << "a config with the number 0.9...e581421 was read";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON: [json.exception.out_of_range.406] number overflow"), std::string::npos) << e.what();
  }
  // Found by train_config_fuzz under UBSan: "n_head": 5e101 was cast to an integer (undefined);
  // a float past the field's range is refused by name, one in range still reads as before.
  for (const char* name : {"float_out_of_int_range.json"}) {
    try {
      TrainConfig::from_file(std::string(BITLM_TEST_DATA_DIR) + "/fuzz/train_config/" + name);
      ADD_FAILURE() << "n_head = 5e101 was read";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("key 'n_head' = 5e+101 is out of range"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(TrainConfig::from_json(nlohmann::json::parse(R"({"steps": -1e30})"), "x.json"), FormatError);
  EXPECT_EQ(TrainConfig::from_json(nlohmann::json::parse(R"({"steps": 7.0})"), "x.json").steps, 7);
  EXPECT_EQ(d.model.matmul_precision, MatmulPrecision::kFp32);
  try {
    TrainConfig::from_json(nlohmann::json::parse(R"({"matmul_precision": "fp16"})"), "x.json");
    ADD_FAILURE() << "fp16 accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("matmul_precision"), std::string::npos) << e.what();
  }
  const TrainConfig b = TrainConfig::from_json(nlohmann::json::parse(R"({"matmul_precision": "bf16"})"), "x.json");
  EXPECT_EQ(b.model.matmul_precision, MatmulPrecision::kBf16);
  EXPECT_EQ(TrainConfig::from_json(b.to_json(), "roundtrip").model.matmul_precision, MatmulPrecision::kBf16);
  const TrainConfig r = TrainConfig::from_json(d.to_json(), "roundtrip");
  EXPECT_EQ(r.to_json(), d.to_json());
}

}  // namespace
}  // namespace bitlm
