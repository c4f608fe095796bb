// train/trainer.h — the training loop behind `bitlm train`: data -> forward/backward (with
// gradient accumulation) -> clipping -> AdamW on the schedule -> metrics JSONL, progress bar,
// periodic validation, atomic checkpoints every N steps, at the end and on SIGINT/SIGTERM.
// Deterministic: the same config and seed give the same loss curve, interrupted or not.
// Under `mpirun -np N` (train/distributed.h) each rank trains on 1/N of every batch and the
// gradients are summed across ranks; rank 0 alone writes checkpoints, metrics and the progress bar.
//
// Files in out_dir: checkpoint.safetensors (train/checkpoint.h), metrics.jsonl, one JSON object
// per line: {"step","loss","lr","weight_decay","grad_norm","tokens","tokens_per_s","elapsed_s"}
// for training steps and {"step","val_loss","val_ppl"} for validations; elapsed_s continues across
// resumes (the checkpoint carries it). On --resume, lines past the checkpoint's step (written before
// a crash) are dropped first.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "train/train_config.h"

namespace bitlm {

struct TrainOptions {
  std::string resume;            // checkpoint to continue from ("" = fresh start)
  int64_t stop_after_steps = -1;  // stop (and checkpoint) once this many steps are done (tests)
  bool progress = true;
  double log_interval_s = 10;  // progress lines when stderr is not a terminal (core/progress.h)
};

struct TrainResult {
  int64_t steps_done = 0;
  double last_loss = 0, last_val_loss = 0, tokens_per_s = 0;
  bool interrupted = false;  // stopped by a signal or stop_after_steps before cfg.steps
};

// A non-finite loss: the run cannot go on (a sweep records it, 003 Fig. 6's stability test).
class TrainingDiverged : public UserError {
 public:
  TrainingDiverged(int64_t step, double loss);
  int64_t step;
  double loss;
};

TrainResult run_training(TrainConfig cfg, const TrainOptions& options);

// Installs SIGINT/SIGTERM handlers that ask the running loop to checkpoint and stop.
void install_stop_signal_handlers();

}  // namespace bitlm
