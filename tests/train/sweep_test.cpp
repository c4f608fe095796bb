// tests/train/sweep_test.cpp — the sweep file expands into one train config per (size, mode) on
// one token stream plus the extra runs; bad files are refused naming the key; a run's state comes
// from its checkpoint (new, partial, trained, diverged) and a checkpoint of another config is
// refused; train_sweep_run resumes a partial run and skips a finished one.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/safetensors.h"
#include "train/data.h"
#include "train/train_test_util.h"
#include "train/sweep.h"
#include "train/trainer.h"

namespace bitlm {
namespace {

std::string temp_dir(const std::string& name) { return test::fresh_temp_dir("sweep_test", name); }

std::string byte_shards() { return test::byte_story_shards(temp_dir("data")); }

nlohmann::json sweep_json(const std::string& data, const std::string& out) {
  nlohmann::json j = nlohmann::json::parse(R"({
    "base": {"model": {"seq_len": 8}, "steps": 4, "batch_size": 2, "checkpoint_every": 2, "threads": 1,
             "schedule": {"kind": "two_stage", "lr": 0.01, "lr_stage2": 0.005, "warmup_steps": 1}},
    "sizes": [{"name": "a", "model": {"n_embd": 16, "n_ff": 32, "n_layer": 1, "n_head": 2, "n_head_kv": 2}},
              {"name": "b", "model": {"n_embd": 32, "n_ff": 64, "n_layer": 2, "n_head": 2, "n_head_kv": 2}}],
    "weight_modes": ["b1.58", "fp"],
    "extra_runs": [{"name": "a-hot", "size": "a", "weight_mode": "b1", "note": "high lr",
                    "config": {"schedule": {"lr": 0.1}}}]})");
  j["base"]["train_data"] = data;
  j["out_dir"] = out;
  j["results_dir"] = out + "/results";
  return j;
}

TEST(Sweep, GridExpandsSizeMajorOnOneTokenStream) {
  const SweepSpec s = SweepSpec::from_json(sweep_json("d/train", "o"), "test.json");
  ASSERT_EQ(s.runs.size(), 5u);
  EXPECT_EQ(s.runs[0].name, "a-b1.58");
  EXPECT_EQ(s.runs[1].name, "a-fp");
  EXPECT_EQ(s.runs[3].name, "b-fp");
  EXPECT_EQ(s.runs[3].config.model.weight_mode, WeightMode::kFp);
  EXPECT_EQ(s.runs[3].config.model.n_layer, 2);
  EXPECT_EQ(s.runs[3].config.out_dir, "o/b-fp");
  for (const SweepRun& r : s.runs) {
    EXPECT_EQ(r.config.train_data, "d/train");
    EXPECT_EQ(r.config.batch_size, 2);
    EXPECT_EQ(r.config.model.seq_len, 8);
    EXPECT_EQ(r.config.seed, s.runs[0].config.seed);
  }
  const SweepRun* hot = s.find("a-hot");
  ASSERT_NE(hot, nullptr);
  EXPECT_FALSE(hot->grid);
  EXPECT_EQ(hot->config.model.weight_mode, WeightMode::kBinary);
  EXPECT_FLOAT_EQ(hot->config.schedule.lr, 0.1f);
  EXPECT_FLOAT_EQ(hot->config.schedule.lr_stage2, 0.005f);  // the rest of base's schedule stays
  EXPECT_EQ(hot->config.model.n_embd, 16);
  // N: q, k, v, o (16x16 each) + gate, up, down (16x32 each), one layer.
  EXPECT_EQ(non_embedding_params(s.runs[0].config.model), 4 * 16 * 16 + 3 * 16 * 32);
}

TEST(Sweep, BadFilesAreRefusedNamingTheKey) {
  auto expect_refused = [](nlohmann::json j, const std::string& needle) {
    try {
      SweepSpec::from_json(j, "s.json");
      ADD_FAILURE() << "accepted: " << j.dump();
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  nlohmann::json j = sweep_json("d", "o");
  j["sizez"] = 1;
  expect_refused(j, "sizez");
  j = sweep_json("d", "o");
  j["base"]["out_dir"] = "x";  // each run's folder is the sweep's to choose
  expect_refused(j, "base.out_dir");
  j = sweep_json("d", "o");
  j["extra_runs"][0]["size"] = "zz";
  expect_refused(j, "zz");
  j = sweep_json("d", "o");
  j["sizes"][0]["model"]["n_embdd"] = 8;
  expect_refused(j, "n_embdd");
  j = sweep_json("d", "o");
  j["weight_modes"] = {"b2"};
  expect_refused(j, "b2");
  j = sweep_json("d", "o");
  j["extra_runs"][0]["name"] = "a-fp";
  expect_refused(j, "two runs");
}

TEST(Sweep, RunsResumeFromTheirCheckpointAndFinishedOnesAreSkipped) {
  const std::string data = byte_shards(), out = temp_dir("runs");
  const SweepSpec s = SweepSpec::from_json(sweep_json(data, out), "test.json");
  const SweepRun& run = s.runs[0];
  EXPECT_EQ(run_progress(run).status, RunStatus::kNew);

  TrainConfig half = run.config;  // a run stopped at step 2 (its checkpoint), as a kill would leave it
  TrainOptions stop;
  stop.progress = false;
  stop.stop_after_steps = 2;
  run_training(half, stop);
  const RunProgress p = run_progress(run);
  EXPECT_EQ(p.status, RunStatus::kPartial);
  EXPECT_EQ(p.step, 2);

  const SweepTrainOutcome o = train_sweep_run(run, false);
  EXPECT_EQ(o.status, RunStatus::kTrained);
  EXPECT_EQ(o.from_step, 2);
  EXPECT_EQ(o.to_step, 4);
  EXPECT_EQ(run_progress(run).status, RunStatus::kTrained);
  EXPECT_TRUE(std::filesystem::exists(out + "/a-b1.58/config.json"));

  // The same run uninterrupted ends with the same weights.
  const SweepSpec s2 = SweepSpec::from_json(sweep_json(data, temp_dir("runs2")), "test.json");
  train_sweep_run(s2.runs[0], false);
  const auto fa = SafetensorsFile::open(run_checkpoint_path(run));
  const auto fb = SafetensorsFile::open(run_checkpoint_path(s2.runs[0]));
  EXPECT_EQ(fa->metadata().at("crc32"), fb->metadata().at("crc32"));

  const auto mtime = std::filesystem::last_write_time(run_checkpoint_path(run));
  const SweepTrainOutcome again = train_sweep_run(run, false);  // finished: nothing is trained
  EXPECT_EQ(again.status, RunStatus::kTrained);
  EXPECT_EQ(again.from_step, again.to_step);
  EXPECT_EQ(std::filesystem::last_write_time(run_checkpoint_path(run)), mtime);

  // A checkpoint of another model in the run's folder is refused, not resumed or overwritten.
  std::filesystem::create_directories(out + "/b-b1.58");
  std::filesystem::copy_file(run_checkpoint_path(run), run_checkpoint_path(s.runs[2]));
  EXPECT_THROW(run_progress(s.runs[2]), UserError);
}

TEST(Sweep, ARunAnotherProcessHoldsIsSkippedAsBusy) {
  const std::string data = byte_shards(), out = temp_dir("busy");
  const SweepSpec s = SweepSpec::from_json(sweep_json(data, out), "test.json");
  std::filesystem::create_directories(out + "/a-fp");
  const int fd = ::open((out + "/a-fp/.lock").c_str(), O_RDWR | O_CREAT, 0644);  // as another sweep holds it
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(train_sweep_run(*s.find("a-fp"), false).status, RunStatus::kBusy);
  EXPECT_FALSE(std::filesystem::exists(run_checkpoint_path(*s.find("a-fp"))));
  ::close(fd);  // released: the run trains
  EXPECT_EQ(train_sweep_run(*s.find("a-fp"), false).status, RunStatus::kTrained);
}

TEST(Sweep, ADivergedRunIsRecordedAndCountsAsFinished) {
  const std::string data = byte_shards(), out = temp_dir("diverge");
  nlohmann::json j = sweep_json(data, out);
  j["extra_runs"][0]["config"]["schedule"]["lr"] = 1e30;  // the loss turns non-finite
  j["extra_runs"][0]["config"]["schedule"]["warmup_steps"] = 0;
  j["extra_runs"][0]["weight_mode"] = "fp";
  j["extra_runs"][0]["config"]["init_std"] = 1e10;
  const SweepSpec s = SweepSpec::from_json(j, "test.json");
  const SweepTrainOutcome o = train_sweep_run(*s.find("a-hot"), false);
  EXPECT_EQ(o.status, RunStatus::kDiverged);
  EXPECT_TRUE(std::filesystem::exists(out + "/a-hot/diverged.json"));
  EXPECT_EQ(run_progress(*s.find("a-hot")).status, RunStatus::kDiverged);
}

TEST(Sweep, CommittedResultsMakeARunDoneWithoutItsFolder) {
  const std::string data = byte_shards(), out = temp_dir("results");
  const SweepSpec s = SweepSpec::from_json(sweep_json(data, out), "test.json");
  EXPECT_EQ(s.results_dir, out + "/results");
  nlohmann::json no_dir = sweep_json(data, out);
  no_dir.erase("results_dir");
  no_dir["name"] = "g";
  EXPECT_EQ(SweepSpec::from_json(no_dir, "t.json").results_dir, "docs/reproduction/g");
  const SweepRun& run = s.runs[1];  // a-fp
  EXPECT_EQ(run.results_dir, out + "/results/a-fp");
  train_sweep_run(run, false);
  const nlohmann::json summary = sweep_train_summary(run);
  EXPECT_EQ(summary["last_step"], 4);
  EXPECT_EQ(summary["tokens"], 4 * 2 * 8);
  EXPECT_EQ(summary["n_params"], non_embedding_params(run.config.model));
  EXPECT_GT(summary["sessions"]["wall_s"].get<double>(), 0);
  EXPECT_TRUE(summary["last_loss"].is_number());

  write_run_results(run, {{"heldout", nlohmann::json::array()}}, /*keep_every=*/2);
  EXPECT_EQ(run_progress(run).status, RunStatus::kDone);
  const nlohmann::json r = read_json_file(run_result_path(run));
  EXPECT_EQ(r["run"], "a-fp");
  EXPECT_EQ(r["weight_mode"], "fp");
  EXPECT_EQ(r["train"]["last_step"], 4);
  // Thinned metrics: training lines of even steps (2, 4) only.
  std::ifstream m(run.results_dir + "/metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(m, line);) {
    EXPECT_EQ(nlohmann::json::parse(line)["step"].get<int64_t>() % 2, 0) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 2);
  EXPECT_TRUE(std::filesystem::exists(run.results_dir + "/config.json"));

  // The run folder (checkpoint) lost, as on a new machine: the run is still done, nothing trains.
  std::filesystem::remove_all(run.config.out_dir);
  EXPECT_EQ(run_progress(run).status, RunStatus::kDone);
  EXPECT_EQ(train_sweep_run(run, false).status, RunStatus::kDone);
  EXPECT_FALSE(std::filesystem::exists(run_checkpoint_path(run)));
}

}  // namespace
}  // namespace bitlm
