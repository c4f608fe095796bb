// cli/cmd_sweep.cpp — `bitlm sweep -c sweep.json`: trains every run of the grid (train/sweep.h),
// resuming each from its checkpoint and skipping finished ones, so the same command continues a
// sweep after a kill -9 at any point. `--dry-run` prints the plan and each run's state.
// Then each trained run is exported and evaluated (held-out loss, tasks: eval/model_eval.h) and
// its results are written to results_dir/<run>/ (train/sweep.h) — the part to commit — and the
// report (eval/sweep_report.h) is rebuilt from every result there: results_dir/report.md,
// scaling.svg, energy.svg. `--no-train` does only the evaluation and the report (beside sweep
// processes that train with --train-only); `--report` only the report.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "core/sys.h"
#include "eval/model_eval.h"
#include "eval/sweep_report.h"
#include "model/ptq_model.h"
#include "io/atomic_write.h"
#include "train/export.h"
#include "train/sweep.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace bitlm::cli {
namespace {

struct SweepArgs {
  std::string config;
  std::vector<std::string> only;
  bool dry_run = false, train_only = false, no_train = false, report_only = false;
  int threads = 1;
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
    if (p.status == RunStatus::kTrained || p.status == RunStatus::kDiverged || p.status == RunStatus::kDone) continue;
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

ModelEvalOptions eval_options(const SweepSpec& spec, int threads) {
  ModelEvalOptions o;
  o.heldout = spec.eval.heldout;
  o.heldout_docs = spec.eval.heldout_docs;
  o.ctx = spec.eval.ctx;
  o.tasks = spec.eval.tasks;
  o.task_limit = spec.eval.task_limit;
  o.data_dir = std::string(BITLM_SHARED_DIR) + "/data";
  o.threads = threads;
  return o;
}

// Every trained (or diverged) run without results: export, evaluate, write results_dir/<run>/.
void evaluate_runs(const SweepSpec& spec, const std::vector<const SweepRun*>& runs, int threads) {
  for (const SweepRun* r : runs) {
    const RunProgress p = run_progress(*r);
    if (p.status != RunStatus::kTrained && p.status != RunStatus::kDiverged) continue;
    nlohmann::json eval = nullptr;
    if (p.status == RunStatus::kTrained) {
      const std::string gguf = r->config.out_dir + "/model.gguf";
      export_checkpoint(run_checkpoint_path(*r), "", gguf);
      fmt::print(stderr, "sweep: {}: evaluating\n", r->name);
      eval = evaluate_model_file(gguf, eval_options(spec, threads));
    }
    write_run_results(*r, eval);
    fmt::print(stderr, "sweep: {}: results in {}{}\n", r->name, r->results_dir,
               eval.is_null() ? "" : fmt::format(" (held-out loss {:.4f}, {:.0f} s)",
                                                 eval["heldout"].empty() ? 0.0 : eval["heldout"][0].value("loss", 0.0),
                                                 eval.value("eval_s", 0.0)));
  }
}

// 003 Table 3: each ptq entry applied to every size's trained `from` run (its exported model.gguf),
// the quantized model evaluated like the runs, results in results_dir/<size>-<from>-<ptq name>/.
// GPTQ calibrates on the first data[] text (the training text). A run whose folder is gone (only
// its results are left) cannot be quantized: it is skipped with a note.
void quantize_runs(const SweepSpec& spec, const std::vector<const SweepRun*>& runs, int threads) {
  for (const SweepPtq& q : spec.ptq)
    for (const SweepRun* r : runs) {
      if (!r->grid || weight_mode_name(r->config.model.weight_mode) != q.from) continue;
      const std::string name = r->name + "-" + q.name(), dir = spec.results_dir + "/" + name;
      if (std::filesystem::exists(dir + "/result.json")) continue;
      const std::string gguf = r->config.out_dir + "/model.gguf";
      if (!std::filesystem::exists(gguf) || !std::filesystem::exists(run_result_path(*r))) {
        if (run_progress(*r).status == RunStatus::kDone)
          fmt::print(stderr, "sweep: {}: {}'s model is gone (only its results are left); not quantized\n", name, r->name);
        continue;
      }
      PtqOptions o = q.options();
      o.threads = threads;
      if (o.method == "gptq") {
        BITLM_CHECK(!spec.data.empty(), "{}: gptq needs calibration text: the first 'data' entry's text", spec.path);
        o.calib_file = spec.data.front().text;
      }
      const std::string out = r->config.out_dir + "/" + q.name() + ".gguf";
      const double t0 = now_seconds();
      const PtqSummary summary = quantize_model_ptq(gguf, out, o);
      fmt::print(stderr, "sweep: {}: quantized ({:.0f} s); evaluating\n", name, now_seconds() - t0);
      const nlohmann::json from = read_json_file(run_result_path(*r));
      nlohmann::json result = {
          {"run", name}, {"size", r->size}, {"weight_mode", q.from}, {"grid", false},
          {"note", fmt::format("{} post-training quantized: {}", r->name, q.name())},
          {"ptq", {{"method", q.method}, {"wbits", q.wbits}, {"abits", q.abits}, {"group_size", q.group_size},
                   {"from", r->name}, {"calib_tokens", summary.calib_tokens}, {"weight_mse", summary.mean_sq_error},
                   {"quantize_s", now_seconds() - t0}}},
          {"train", from.at("train")}};
      result["eval"] = evaluate_model_file(out, eval_options(spec, threads));
      std::filesystem::create_directories(dir);
      atomic_write_text(dir + "/result.json", result.dump(2) + "\n");
      fmt::print(stderr, "sweep: {}: results in {}\n", name, dir);
    }
}

// Every result.json under results_dir, runs in the sweep's order first, then any other folder
// (post-training-quantized models), by name.
std::vector<nlohmann::json> read_results(const SweepSpec& spec) {
  std::vector<nlohmann::json> results;
  std::vector<std::string> seen;
  for (const SweepRun& r : spec.runs)
    if (std::filesystem::exists(run_result_path(r))) {
      results.push_back(read_json_file(run_result_path(r)));
      seen.push_back(r.name);
    }
  std::vector<std::string> others;
  if (std::filesystem::is_directory(spec.results_dir))
    for (const auto& e : std::filesystem::directory_iterator(spec.results_dir)) {
      const std::string name = e.path().filename().string();
      if (e.is_directory() && std::filesystem::exists(e.path() / "result.json") &&
          std::find(seen.begin(), seen.end(), name) == seen.end())
        others.push_back(name);
    }
  std::sort(others.begin(), others.end());
  for (const std::string& name : others)
    results.push_back(read_json_file(spec.results_dir + "/" + name + "/result.json"));
  return results;
}

void write_report(const SweepSpec& spec) {
  const SweepReport rep = build_sweep_report(spec.name, read_results(spec), spec.sizes);
  std::filesystem::create_directories(spec.results_dir);
  atomic_write_text(spec.results_dir + "/report.md", rep.markdown);
  atomic_write_text(spec.results_dir + "/scaling.svg", rep.scaling_svg);
  atomic_write_text(spec.results_dir + "/energy.svg", rep.energy_svg);
  fmt::print(stderr, "sweep: wrote {}/report.md, scaling.svg, energy.svg\n", spec.results_dir);
}

void run_sweep(const SweepArgs& a) {
  const SweepSpec spec = SweepSpec::from_file(a.config);
  const std::vector<const SweepRun*> runs = selected_runs(spec, a.only);
  if (a.dry_run) return print_plan(spec, runs);
  if (!a.report_only) {
    if (!a.no_train) {
      for (const std::string& prefix : prepare_sweep_data(spec)) fmt::print(stderr, "sweep: wrote {}_*.bin\n", prefix);
      install_stop_signal_handlers();
      if (!train_runs(runs)) {
        fmt::print(stderr, "sweep: stopped; run the same command again to continue\n");
        return;
      }
      if (a.train_only) return;
    }
    const int threads = thread_count(a.threads);
    evaluate_runs(spec, runs, threads);
    quantize_runs(spec, runs, threads);
  }
  write_report(spec);
}

void setup(CLI::App& root) {
  auto a = std::make_shared<SweepArgs>();
  CLI::App* c = root.add_subcommand("sweep", "train (and resume) a grid of weight modes x model sizes");
  c->add_option("-c,--config", a->config, "sweep file (see docs/reproduction.md)")->required()->check(CLI::ExistingFile);
  c->add_option("--runs", a->only, "only these runs (names as --dry-run lists them)")->delimiter(',');
  c->add_flag("--dry-run", a->dry_run, "print the runs and their state; train nothing");
  c->add_flag("--train-only", a->train_only, "stop after training");
  c->add_flag("--no-train", a->no_train, "train nothing: evaluate the trained runs without results, write the report");
  c->add_flag("--report", a->report_only, "only rebuild the report from the results folder");
  c->add_option("-t,--threads", a->threads, "threads of the evaluation (0: every CPU this process may run on)")
      ->check(at_least(0))->capture_default_str();
  c->callback([a] { run_sweep(*a); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
