// train/sweep.h — the grid that `bitlm sweep -c sweep.json` trains: weight modes × model sizes on
// the same tokens in the same order (003 §3.1.2: "we fix the number of training tokens and vary
// the model sizes"), plus named extra runs (ablations, the stability test), expanded into one
// TrainConfig per run. The sweep file:
//   { "name": "grid", "out_dir": "runs/sweep",
//     "data": [ {"text": "../shared/data/tinystories/train.txt", "prefix": "data/ts_train"} ],
//     "data_tokenizer": "models/bitnet-tinystories.gguf",   // tokenizes "data" when shards are absent
//     "base": { any train config field (train/train_config.h) but out_dir },
//     "sizes": [ {"name": "s", "model": {"n_embd": 128, "n_layer": 3, ...}}, ... ],
//     "weight_modes": ["b1.58", "b1", "fp"],
//     "extra_runs": [ {"name": "...", "size": "s", "weight_mode": "b1", "note": "...",
//                      "config": { JSON merge patch onto the run's train config }} ],
//     "eval": { "heldout": ["../shared/data/tinystories/valid.txt"], "heldout_docs": 0,
//               "ctx": 0 (= the model's), "tasks": "arc_easy,...", "task_limit": 0 },
//     "ptq": [ {"from": "fp", "method": "gptq", "wbits": 4, "abits": 16, "group_size": 0}, ... ],
//     "results_dir": "docs/reproduction/<name>" }   // the default
// A run's results (train summary, evaluation, thinned metrics; no checkpoint) go to
// results_dir/<run>/ — a folder small enough to commit. A run whose result.json is there is done:
// the sweep neither trains nor evaluates it again, and the report is built from those folders
// alone, so a sweep survives the loss of its run folders (checkpoints) once its results are committed.
// Grid run i is named "<size>-<mode>" and trains base ⊕ size ⊕ {weight_mode} into
// out_dir/<name>; a size may set model fields only, so every grid run reads the same token stream.
// Paths are relative to the working directory, as in train configs.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "model/ptq_model.h"
#include "train/train_config.h"

namespace bitlm {

struct SweepRun {
  std::string name, size, note;
  bool grid = true;         // false: an extra run (ablation, stability test)
  TrainConfig config;       // out_dir = sweep out_dir / name
  std::string results_dir;  // sweep results_dir / name
  nlohmann::json config_json;  // the merged train config, as written to the run folder
};

struct SweepDataPrep { std::string text, prefix; };

struct SweepEval {
  std::vector<std::string> heldout;
  int64_t heldout_docs = 0, ctx = 0, task_limit = 0;
  std::string tasks;
};

struct SweepPtq {
  std::string from = "fp", method = "absmax";
  double wbits = 8;
  int abits = 16;         // 16 = activations untouched (weight-only)
  int64_t group_size = 0;  // GPTQ: 0 = one scale per output row
  std::string name() const;  // e.g. "gptq-w4a16", "absmax-w1.58a8", "gptq-w4a16-g64"
  PtqOptions options() const;  // without the calibration text
};

struct SweepSpec {
  std::string path, name, out_dir, data_tokenizer, results_dir;
  std::vector<SweepDataPrep> data;
  std::vector<std::string> sizes, weight_modes;
  std::vector<SweepRun> runs;  // grid first (size-major, modes in the file's order), then extras
  SweepEval eval;
  std::vector<SweepPtq> ptq;

  static SweepSpec from_json(const nlohmann::json& j, const std::string& where);
  static SweepSpec from_file(const std::string& path);
  const SweepRun* find(const std::string& run_name) const;
};

// kBusy: another process trains it; kDone: its results are in results_dir (nothing left to do).
enum class RunStatus { kNew, kPartial, kTrained, kDiverged, kBusy, kDone };
const char* run_status_name(RunStatus s);

struct RunProgress {
  RunStatus status = RunStatus::kNew;
  int64_t step = 0;  // steps in the checkpoint
};

// kDone when results_dir/<run>/result.json exists (checked first: the run folder may be gone);
// else from the run folder: its checkpoint's step (a checkpoint of another model or batch layout is a
// UserError naming the folder) and diverged.json. Reads only the checkpoint's header.
RunProgress run_progress(const SweepRun& run);

std::string run_checkpoint_path(const SweepRun& run);
std::string run_diverged_path(const SweepRun& run);
std::string run_sessions_path(const SweepRun& run);
std::string run_result_path(const SweepRun& run);  // results_dir/<run>/result.json

// Weights of the BitLinear layers: the N of the scaling law (Kaplan et al.'s non-embedding count;
// the norms' gains are left out as well).
int64_t non_embedding_params(const TrainModelConfig& m);

}  // namespace bitlm

namespace bitlm {

// Tokenizes each data[] text whose shards are missing (with data_tokenizer), as `bitlm data
// prepare` does. Returns the prefixes written.
std::vector<std::string> prepare_sweep_data(const SweepSpec& spec);

struct SweepTrainOutcome {
  RunStatus status = RunStatus::kNew;  // after this call: kTrained, kDiverged or kPartial (stopped)
  int64_t from_step = 0, to_step = 0;
  double wall_s = 0, cpu_s = 0;
};

// Trains one run to its end: skipped when trained or diverged, resumed from its checkpoint when
// partial, skipped (kBusy) while another process holds the run folder's lock — so several sweep
// processes (one per core, or per machine on a shared folder) can work through one grid. Writes config.json (the merged train config) and appends one line per session to
// sessions.jsonl {from_step, to_step, wall_s, cpu_s, stopped}; a non-finite loss writes
// diverged.json {step, loss} (the run counts as finished). A stop signal returns kPartial.
SweepTrainOutcome train_sweep_run(const SweepRun& run, bool progress);

}  // namespace bitlm

namespace bitlm {

// What the report needs of a trained (or diverged) run, from its folder: the model shape, N,
// tokens, steps, the sessions' wall and CPU seconds and tokens per wall / CPU second, the last
// training loss and validation loss, and diverged {step} if it diverged.
nlohmann::json sweep_train_summary(const SweepRun& run);

// Writes the run's committable results: results_dir/<run>/config.json, sessions.jsonl, a thinned
// metrics.jsonl (every `keep_every`-th training line, every validation line, the last line) and,
// last and atomically, result.json = {run, size, note, grid, weight_mode, train: sweep_train_summary,
// eval: `eval`}. After it the run counts as kDone.
void write_run_results(const SweepRun& run, const nlohmann::json& eval, int64_t keep_every = 8);

}  // namespace bitlm
