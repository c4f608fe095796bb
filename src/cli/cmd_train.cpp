// cli/cmd_train.cpp — `bitlm train --config FILE.json [--resume CKPT] [--steps N] [--out DIR]`:
// trains as train/trainer.h describes; SIGINT/SIGTERM checkpoint and stop. Also runs under
// `mpirun -np N` (train/distributed.h).
#include <fmt/format.h>

#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace bitlm::cli {
namespace {

struct TrainArgs {
  std::string config, resume, out_dir;
  int64_t steps = 0;
  double log_interval_s = 10;
};

TrainConfig config_of(const TrainArgs& a) {
  if (!a.config.empty()) return TrainConfig::from_file(a.config);
  if (!a.resume.empty()) return checkpoint_config(a.resume);
  return {};
}

void run_train_or_throw(const TrainArgs& a) {
  TrainConfig cfg = config_of(a);
  if (!a.out_dir.empty()) cfg.out_dir = a.out_dir;
  if (a.steps > 0) cfg.steps = cfg.schedule.total_steps = a.steps;
  install_stop_signal_handlers();
  TrainOptions opt;
  opt.resume = a.resume;
  opt.log_interval_s = a.log_interval_s;
  const TrainResult r = run_training(cfg, opt);
  if (!Distributed::world().is_root()) return;  // under mpirun, one summary line
  fmt::print(stderr, "{} after {} steps: loss {:.4f}{} | {:.0f} tokens/s | checkpoint {}/checkpoint.safetensors\n",
             r.interrupted ? "stopped" : "done", r.steps_done, r.last_loss,
             r.last_val_loss > 0 ? fmt::format(" | val loss {:.4f}", r.last_val_loss) : "", r.tokens_per_s, cfg.out_dir);
}

// Under mpirun every rank reads the same config and data, so a bad input fails every rank the same
// way: rank 0 alone reports it. (Errors inside the step loop abort the job from the failing rank.)
void run_train(const TrainArgs& a) {
  try {
    run_train_or_throw(a);
  } catch (const UserError&) {
    if (!Distributed::world().is_root()) std::exit(2);
    throw;
  }
}

void setup(CLI::App& root) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* c = root.add_subcommand("train", "train a BitNet b1.58 / b1 / fp model from token shards");
  c->add_option("-c,--config", a->config, "training config JSON (every field has a default; see docs/training.md)");
  c->add_option("--resume", a->resume, "continue from this checkpoint, bit for bit");
  c->add_option("--steps", a->steps, "override the config's total steps (0: the config's)")->check(at_least(0));
  c->add_option("-o,--out", a->out_dir, "override the config's out_dir");
  c->add_option("--log-interval", a->log_interval_s,
                "seconds between progress lines when stderr is not a terminal (a log file; 0: every step)")
      ->check(at_least(0));
  c->callback([a] { run_train(*a); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
