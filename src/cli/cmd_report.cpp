// cli/cmd_report.cpp — `bitlm report`: the papers' inference-cost table for a model, relative to
// a baseline when given (000 Table 1, 003 Tables 2/4/7), as markdown, and the memory / latency
// versus model size plot (003 Figure 8) as SVG.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "eval/cost_report.h"
#include "io/atomic_write.h"

namespace bitlm::cli {
namespace {

struct ReportArgs {
  std::string model, baseline, out_md, out_svg;
  std::vector<std::string> plot_models;
  CostOptions cost;
  double budget_gib = 160;
  int threads = 0;
};

void write_text(const std::string& path, const std::string& text) {
  atomic_write_text(path, text);
  fmt::print(stderr, "wrote {}\n", path);
}

void run_report(ReportArgs& a) {
  a.cost.budget_bytes = uint64_t(a.budget_gib * 1024 * 1024 * 1024);
  ThreadPool pool(thread_count(a.threads));
  std::vector<ModelCost> rows;
  if (!a.baseline.empty()) rows.push_back(measure_cost(a.baseline, pool, a.cost));
  rows.push_back(measure_cost(a.model, pool, a.cost));
  const std::string md = fmt::format("# Inference cost ({} threads)\n\n{}", pool.n_threads(), cost_report_markdown(rows, a.cost));
  fmt::print("{}", md);
  std::fflush(stdout);
  if (!a.out_md.empty()) write_text(a.out_md, md);
  if (!a.out_svg.empty()) {
    std::vector<ModelCost> points = rows;
    for (const std::string& p : a.plot_models) points.push_back(measure_cost(p, pool, a.cost));
    write_text(a.out_svg, size_plot_svg(points));
  }
}

void setup(CLI::App& root) {
  auto a = std::make_shared<ReportArgs>();
  CLI::App* c = root.add_subcommand("report", "inference cost table (memory, latency, throughput, energy) and size plot");
  c->add_option("-m,--model", a->model, "model GGUF file")->required()->check(CLI::ExistingFile);
  c->add_option("--baseline", a->baseline, "baseline GGUF (e.g. the FP16 twin): every column relative to it")
      ->check(CLI::ExistingFile);
  c->add_option("-o,--output", a->out_md, "write the markdown table here");
  c->add_option("--svg", a->out_svg, "write the memory / latency versus size plot here");
  c->add_option("--plot-model", a->plot_models, "more GGUFs to measure as points in the plot")->check(CLI::ExistingFile);
  c->add_option("-t,--threads", a->threads, "threads (0: every CPU this process may run on)")->check(at_least(0));
  c->add_option("--prompt", a->cost.n_prompt, "prompt tokens for the prefill measurement")->check(at_least(1));
  c->add_option("-n,--n-predict", a->cost.n_generate, "decoded tokens per repetition")->check(in_range(2, 1 << 20));
  c->add_option("--reps", a->cost.repetitions, "repetitions (medians are reported)")->check(at_least(1));
  c->add_option("--budget-gib", a->budget_gib, "memory budget for the max batch (003 Table 7: 160)")
      ->check(above(0));
  c->add_option("--batch-seq", a->cost.batch_seq_len, "sequence length per batch entry (Table 7: 512)")
      ->check(at_least(1));
  c->callback([a] { run_report(*a); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
