// cli/cmd_sweep.cpp — `bitlm sweep -c sweep.json`: trains every run of the grid (train/sweep.h),
// resuming each from its checkpoint and skipping finished ones, so the same command continues a
// sweep after a kill -9 at any point. `--dry-run` prints the plan and each run's state.
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "train/sweep.h"
#include "train/trainer.h"

namespace bitlm::cli {
namespace {

struct SweepArgs {
  std::string config;
  std::vector<std::string> only;
  bool dry_run = false, train_only = false;
};

std::string human_count(int64_t n) {
  return n >= 1'000'000 ? fmt::format("{:.2f}M", double(n) / 1e6) : fmt::format("{:.0f}k", double(n) / 1e3);
}

std::vector<const SweepRun*> selected_runs(const SweepSpec& spec, const std::vector<std::string>& only) {
  std::vector<const SweepRun*> runs;
  for (const std::string& name : only) {
    const SweepRun* r = spec.find(name);
    BITLM_CHECK(r, "{}: no run is named '{}'", spec.path, name);
    runs.push_back(r);
  }
  if (only.empty())
    for (const SweepRun& r : spec.runs) runs.push_back(&r);
  return runs;
}

void print_plan(const SweepSpec& spec, const std::vector<const SweepRun*>& runs) {
  fmt::print("| run | weights | N (non-embedding) | D | layers | steps | tokens | state |\n|---|---|---|---|---|---|---|---|\n");
  for (const SweepRun* r : runs) {
    const TrainConfig& c = r->config;
    const RunProgress p = run_progress(*r);
    fmt::print("| {} | {} | {} | {} | {} | {} | {} | {}{} |\n", r->name, weight_mode_name(c.model.weight_mode),
               human_count(non_embedding_params(c.model)), c.model.n_embd, c.model.n_layer, c.steps,
               human_count(c.steps * c.batch_size * c.grad_accum * c.model.seq_len), run_status_name(p.status),
               p.status == RunStatus::kPartial ? fmt::format(" ({} steps)", p.step) : "");
  }
}

// Returns false when a stop signal interrupted a run (the sweep stops there; rerun to continue).
bool train_runs(const std::vector<const SweepRun*>& runs) {
  for (size_t i = 0; i < runs.size(); ++i) {
    const SweepRun& r = *runs[i];
    const RunProgress p = run_progress(r);
    if (p.status == RunStatus::kTrained || p.status == RunStatus::kDiverged) continue;
    fmt::print(stderr, "sweep: [{}/{}] {}: {} at step {} of {} (N = {})\n", i + 1, runs.size(), r.name,
               p.status == RunStatus::kNew ? "training" : "resuming", p.step, r.config.steps,
               human_count(non_embedding_params(r.config.model)));
    const SweepTrainOutcome o = train_sweep_run(r, /*progress=*/true);
    if (o.status == RunStatus::kBusy) {
      fmt::print(stderr, "sweep: {}: another sweep process is training it; skipped\n", r.name);
      continue;
    }
    const double tokens = double((o.to_step - o.from_step) * r.config.batch_size * r.config.grad_accum * r.config.model.seq_len);
    fmt::print(stderr, "sweep: {}: {} at step {} | {:.0f} s wall, {:.0f} s CPU | {:.0f} tokens per CPU second\n", r.name,
               run_status_name(o.status), o.to_step, o.wall_s, o.cpu_s, tokens / std::max(o.cpu_s, 1e-9));
    if (o.status == RunStatus::kPartial) return false;
  }
  return true;
}

void run_sweep(const SweepArgs& a) {
  const SweepSpec spec = SweepSpec::from_file(a.config);
  const std::vector<const SweepRun*> runs = selected_runs(spec, a.only);
  if (a.dry_run) return print_plan(spec, runs);
  for (const std::string& prefix : prepare_sweep_data(spec)) fmt::print(stderr, "sweep: wrote {}_*.bin\n", prefix);
  install_stop_signal_handlers();
  if (!train_runs(runs)) {
    fmt::print(stderr, "sweep: stopped; run the same command again to continue\n");
    return;
  }
  if (a.train_only) return;
}

void setup(CLI::App& root) {
  auto a = std::make_shared<SweepArgs>();
  CLI::App* c = root.add_subcommand("sweep", "train (and resume) a grid of weight modes x model sizes");
  c->add_option("-c,--config", a->config, "sweep file (see docs/reproduction.md)")->required()->check(CLI::ExistingFile);
  c->add_option("--runs", a->only, "only these runs (names as --dry-run lists them)")->delimiter(',');
  c->add_flag("--dry-run", a->dry_run, "print the runs and their state; train nothing");
  c->add_flag("--train-only", a->train_only, "stop after training");
  c->callback([a] { run_sweep(*a); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
