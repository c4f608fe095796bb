// tests/cli/train_cli_test.cpp — `bitlm train` as a user runs it, on byte-token shards made here:
// - data-parallel: `mpirun -np 2` gives the losses and weights of one process with the same global
//   batch, bit for bit when each rank's share is a power of two (train/pairwise_sum.h), else to
//   float rounding;
// - kill -9 mid-training (of the process, or of one MPI rank), then --resume: at most one
//   checkpoint interval is lost and the run ends bit for bit where an uninterrupted one does;
// - kill -9 in the middle of writing a checkpoint (the previous one stays and resumes) or an
//   exported GGUF (no partial file; the rerun succeeds).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "io/safetensors.h"
#include "train/data.h"

namespace bitlm {
namespace {

using test::CliRun;
using test::kBitlmBin;
using test::read_all;
using test::spawn;
using test::tmp_path;

// A fresh directory for one test's files.
std::string fresh_dir(const std::string& name) {
  const std::string dir = tmp_path(name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Byte-token shards (vocab 257: bytes + EOS) and a training config over them.
std::string write_config(const std::string& dir, const nlohmann::json& overrides) {
  std::string text;
  for (int i = 0; i < 60; ++i) text += fmt::format("Story {}: the cat sat on mat {}.\n<|endoftext|>\n", i, i * 7);
  prepare_shards(text, [](std::string_view s) { return std::vector<int32_t>(s.begin(), s.end()); }, 256, 257,
                 dir + "/train", 1000);
  nlohmann::json cfg = nlohmann::json::parse(R"({
    "model": {"n_embd": 32, "n_ff": 64, "n_layer": 2, "n_head": 4, "n_head_kv": 2, "seq_len": 16},
    "schedule": {"kind": "two_stage", "lr": 0.01, "lr_stage2": 0.005, "warmup_steps": 2},
    "checkpoint_every": 0, "threads": 1})");
  cfg["train_data"] = dir + "/train";
  cfg.merge_patch(overrides);
  const std::string path = dir + "/train.json";
  std::ofstream(path) << cfg.dump(2);
  return path;
}

CliRun run_shell(const std::string& command) {
  const std::string out = tmp_path("train_stdout.txt"), err = tmp_path("train_stderr.txt");
  const int st = std::system((command + " > " + out + " 2> " + err).c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, read_all(out), read_all(err)};
}

bool have_mpirun() { return std::system("command -v mpirun > /dev/null 2>&1") == 0; }

const std::string kMpirun2 = "mpirun --allow-run-as-root --oversubscribe -np 2 ";

// step -> `key` ("loss", "elapsed_s") of the training lines of metrics.jsonl (validation lines
// have neither).
std::map<int64_t, double> step_values(const std::string& metrics, const char* key) {
  std::ifstream f(metrics);
  std::map<int64_t, double> out;
  for (std::string line; std::getline(f, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains(key)) out[j["step"].get<int64_t>()] = j[key].get<double>();
  }
  return out;
}

std::map<int64_t, double> step_losses(const std::string& metrics) { return step_values(metrics, "loss"); }

int64_t line_count(const std::string& path) {
  std::ifstream f(path);
  int64_t n = 0;
  for (std::string line; std::getline(f, line);) ++n;
  return n;
}

int64_t last_step(const std::string& metrics) {
  const auto losses = step_losses(metrics);
  return losses.empty() ? 0 : losses.rbegin()->first;
}

// Largest |a - b| over every parameter, relative to the largest |a|.
double max_param_difference(const std::string& ckpt_a, const std::string& ckpt_b) {
  const auto a = SafetensorsFile::open(ckpt_a), b = SafetensorsFile::open(ckpt_b);
  double diff = 0, scale = 0;
  for (const auto& [name, t] : a->tensors()) {
    if (name.rfind("param.", 0) != 0) continue;
    const std::vector<float> x = a->read_f32(name), y = b->read_f32(name);
    EXPECT_EQ(x.size(), y.size()) << name;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      diff = std::max(diff, std::fabs(double(x[i]) - double(y[i])));
      scale = std::max(scale, std::fabs(double(x[i])));
    }
  }
  return diff / scale;
}

struct RankDifference { double loss = 0, params = 0; };

// Trains 8 steps under `mpirun -np 2` and as one process with the same config (global batch);
// the largest relative loss and parameter differences.
RankDifference two_ranks_vs_one(const std::string& name, int64_t batch_size, int64_t grad_accum) {
  const std::string dir = fresh_dir(name);
  const std::string cfg = write_config(dir, {{"steps", 8}, {"batch_size", batch_size}, {"grad_accum", grad_accum}});
  const CliRun two = run_shell(kMpirun2 + kBitlmBin + " train -c " + cfg + " -o " + dir + "/np2");
  EXPECT_EQ(two.rc, 0) << two.err;
  EXPECT_EQ(two.err.find("done after 8 steps"), two.err.rfind("done after 8 steps")) << "one summary line: " << two.err;
  const CliRun one = run_shell(kBitlmBin + " train -c " + cfg + " -o " + dir + "/np1");
  EXPECT_EQ(one.rc, 0) << one.err;
  const auto l2 = step_losses(dir + "/np2/metrics.jsonl"), l1 = step_losses(dir + "/np1/metrics.jsonl");
  EXPECT_EQ(l1.size(), 8u);
  EXPECT_EQ(l2.size(), 8u);
  EXPECT_EQ(line_count(dir + "/np2/metrics.jsonl"), 8) << "rank 0 alone writes metrics";
  if (l1.size() != 8 || l2.size() != 8) return {1, 1};
  EXPECT_LT(l1.at(8), l1.at(1));
  RankDifference d;
  for (const auto& [step, loss] : l1) d.loss = std::max(d.loss, std::fabs(l2.at(step) - loss) / loss);
  d.params = max_param_difference(dir + "/np1/checkpoint.safetensors", dir + "/np2/checkpoint.safetensors");
  std::printf("np2 vs np1, batch %lld x %lld: largest relative loss difference %.2e, parameter difference %.2e\n",
              (long long)batch_size, (long long)grad_accum, d.loss, d.params);
  return d;
}

TEST(TrainCli, TwoMpiRanksEqualOneProcessBitForBitWithPowerOfTwoShares) {
  if (!have_mpirun()) GTEST_SKIP() << "mpirun not found (apt-get install openmpi-bin)";
  const RankDifference d = two_ranks_vs_one("mpi_exact", 4, 2);  // 2 sequences per rank
  EXPECT_EQ(d.loss, 0.0);
  EXPECT_EQ(d.params, 0.0);
}

TEST(TrainCli, TwoMpiRanksMatchOneProcessToRoundingWithOtherShares) {
  if (!have_mpirun()) GTEST_SKIP() << "mpirun not found (apt-get install openmpi-bin)";
  const RankDifference d = two_ranks_vs_one("mpi_round", 6, 1);  // 3 sequences per rank: another tree
  EXPECT_LT(d.loss, 1e-6);
  EXPECT_LT(d.params, 1e-5);
}

TEST(TrainCli, MpiBatchThatDoesNotDivideAmongTheRanksIsRefused) {
  if (!have_mpirun()) GTEST_SKIP() << "mpirun not found (apt-get install openmpi-bin)";
  const std::string dir = fresh_dir("mpi_bad");
  const std::string cfg = write_config(dir, {{"steps", 2}, {"batch_size", 3}});
  const CliRun r = run_shell(kMpirun2 + kBitlmBin + " train -c " + cfg + " -o " + dir + "/out");
  EXPECT_EQ(r.rc, 2);
  const std::string message = "batch_size = 3 does not divide among the 2 MPI processes";
  const size_t first = r.err.find(message);
  EXPECT_NE(first, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(message, first + 1), std::string::npos) << "reported by more than one rank:\n" << r.err;
}

// Into a log file (not a terminal) training prints plain progress lines (it printed nothing for
// 125 steps); a resume says from which step, and elapsed_s continues instead of restarting at 0.
TEST(TrainCli, LogFileShowsProgressAndResumeContinuesTheClock) {
  const std::string dir = fresh_dir("log_resume");
  const std::string cfg = write_config(dir, {{"steps", 4}, {"batch_size", 2}});
  const std::string out = dir + "/out";
  const CliRun first = run_shell(kBitlmBin + " train -c " + cfg + " -o " + out);
  ASSERT_EQ(first.rc, 0) << first.err;
  EXPECT_NE(first.err.find("train: 1/4 (25%)"), std::string::npos) << "the first step is always shown:\n" << first.err;
  EXPECT_NE(first.err.find("loss "), std::string::npos) << first.err;

  const CliRun resumed = run_shell(kBitlmBin + " train -c " + cfg + " --steps 7 --log-interval 0 -o " + out +
                                   " --resume " + out + "/checkpoint.safetensors");
  ASSERT_EQ(resumed.rc, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("at step 4 of 7"), std::string::npos) << resumed.err;
  for (const char* line : {"train: 5/7", "train: 6/7", "train: 7/7"})
    EXPECT_NE(resumed.err.find(line), std::string::npos) << line << " in\n" << resumed.err;
  const auto elapsed = step_values(out + "/metrics.jsonl", "elapsed_s");
  ASSERT_EQ(elapsed.size(), 7u);
  for (int64_t step = 2; step <= 7; ++step) EXPECT_GT(elapsed.at(step), elapsed.at(step - 1)) << "step " << step;
}

// Starts argv[0] (looked up in PATH) with its output discarded.
// A child process of `parent` (an MPI rank of mpirun), or -1: the ppid field of /proc/PID/stat.
pid_t child_of(pid_t parent) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = read_all(entry.path().string() + "/stat");
    const size_t comm_end = stat.rfind(')');
    if (comm_end == std::string::npos) continue;
    char state = 0;
    long ppid = 0;
    if (std::sscanf(stat.c_str() + comm_end + 1, " %c %ld", &state, &ppid) == 2 && ppid == parent)
      return pid_t(std::stol(pid));
  }
  return -1;
}

constexpr int64_t kEvery = 20;  // checkpoint interval

// Starts training (`launcher` + bitlm train), waits until it is a few steps past the first
// checkpoint, SIGKILLs the process `victim` picks, checks that at most one checkpoint interval
// was lost, resumes with `resume_launcher` and compares with an uninterrupted one-process run:
// every step's loss and every weight bit-identical.
void kill_resume_compare(const std::string& name, int64_t steps, const std::vector<std::string>& launcher,
                         const std::function<pid_t(pid_t)>& victim, const std::string& resume_launcher) {
  const std::string dir = fresh_dir(name);
  const std::string cfg = write_config(dir, {{"steps", steps}, {"batch_size", 2}, {"checkpoint_every", kEvery}});
  const std::string out = dir + "/killed", ckpt = out + "/checkpoint.safetensors";

  std::vector<std::string> args = launcher;
  for (const std::string& a : {kBitlmBin, std::string("train"), std::string("-c"), cfg, std::string("-o"), out})
    args.push_back(a);
  const pid_t pid = spawn(args);
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (last_step(out + "/metrics.jsonl") < kEvery + 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const pid_t target = victim(pid);
  ASSERT_GT(target, 0);
  kill(target, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "training ended before the kill";
  const int64_t killed_at = last_step(out + "/metrics.jsonl");
  const int64_t saved = std::stoll(SafetensorsFile::open(ckpt)->metadata().at("step"));
  std::printf("%s: killed after step %lld, last checkpoint at step %lld\n", name.c_str(), (long long)killed_at,
              (long long)saved);
  ASSERT_LT(killed_at, steps);
  EXPECT_GE(saved, kEvery);
  EXPECT_LE(killed_at - saved, kEvery) << "more than one checkpoint interval lost";

  const CliRun resumed = run_shell(resume_launcher + kBitlmBin + " train -c " + cfg + " -o " + out + " --resume " + ckpt);
  ASSERT_EQ(resumed.rc, 0) << resumed.err;
  const CliRun full = test::run_bitlm("train -c " + cfg + " -o " + dir + "/full");
  ASSERT_EQ(full.rc, 0) << full.err;

  const auto a = step_losses(out + "/metrics.jsonl"), b = step_losses(dir + "/full/metrics.jsonl");
  EXPECT_EQ(a, b);  // exact, every step once (the lines past the checkpoint were dropped on resume)
  EXPECT_EQ(line_count(out + "/metrics.jsonl"), steps);
  const auto fa = SafetensorsFile::open(ckpt), fb = SafetensorsFile::open(dir + "/full/checkpoint.safetensors");
  EXPECT_EQ(fa->metadata().at("crc32"), fb->metadata().at("crc32"));
  EXPECT_EQ(max_param_difference(ckpt, dir + "/full/checkpoint.safetensors"), 0.0);
}

TEST(TrainCli, KillNineThenResumeLosesAtMostOneIntervalAndEndsBitIdentical) {
  kill_resume_compare("kill9", 300, {}, [](pid_t p) { return p; }, "");
}

// A rank killed: mpirun ends the job. Resumed with 2 ranks, it ends as one uninterrupted process
// does (1 sequence per rank: a power-of-two share).
TEST(TrainCli, MpiRankKilledThenResumedEndsAsOneProcessRun) {
  if (!have_mpirun()) GTEST_SKIP() << "mpirun not found (apt-get install openmpi-bin)";
  kill_resume_compare("mpi_kill9", 100, {"mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2"}, child_of,
                      kMpirun2);
}

// Killed while it writes its second checkpoint: the first stays whole (step kEvery) and resumes
// to the end; then export, killed while it writes the GGUF, leaves no partial file, and reruns.
TEST(TrainCli, KillNineMidCheckpointOrExportWriteKeepsTheWholeFiles) {
  const std::string dir = fresh_dir("kill_mid_write");
  const int64_t steps = 3 * kEvery;
  const std::string cfg = write_config(dir, {{"steps", steps}, {"batch_size", 2}, {"checkpoint_every", kEvery}});
  const std::string out = dir + "/run", ckpt = out + "/checkpoint.safetensors";
  std::filesystem::create_directories(out);  // watched from the start
  ASSERT_TRUE(test::kill_while_writing({"train", "-c", cfg, "-o", out}, ckpt, 2));
  EXPECT_EQ(std::stoll(SafetensorsFile::open(ckpt)->metadata().at("step")), kEvery);
  const CliRun resumed = test::run_bitlm("train -c " + cfg + " -o " + out + " --resume " + ckpt);
  ASSERT_EQ(resumed.rc, 0) << resumed.err;
  EXPECT_EQ(std::stoll(SafetensorsFile::open(ckpt)->metadata().at("step")), steps);
  test::expect_kill_mid_write_leaves_no_partial_file({"export", ckpt, "-o", dir + "/model.gguf"}, dir + "/model.gguf");
}

}  // namespace
}  // namespace bitlm
