// cli/cmd_bench.cpp — `bitlm bench`: prompt (pp) and generation (tg) speed of a model file as
// llama-bench prints them, with the spread over repetitions, memory and the share of this
// machine's read bandwidth that decode achieves (eval/bench.h). Like llama-bench, -p, -n, -t and -d
// take comma-separated lists: every thread count x depth runs one pp test per -p value and one tg
// test per -n value (0 skips); -o picks markdown, JSON, JSON lines or CSV.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "core/sys.h"
#include "core/thread_pool.h"
#include "eval/bench.h"
#include "model/model.h"
#include "quant/kernels.h"

namespace bitlm::cli {
namespace {

struct BenchArgs {
  std::string model, kv_type = "f16", output = "md";
  std::vector<int64_t> n_prompt{128}, n_gen{64}, depth{0};
  std::vector<int> threads{0};
  int repetitions = 5;
  int64_t batch = BenchOptions{}.batch;
};

// The tests of one thread count, in llama-bench's order: each depth, its pp tests then its tg tests.
std::vector<BenchRow> run_thread_count(const Model& model, const BenchArgs& a, ThreadPool& pool) {
  std::vector<BenchRow> rows;
  for (int64_t d : a.depth) {
    BenchOptions o{.depth = d, .repetitions = a.repetitions, .kv_type = parse_kv_type(a.kv_type), .batch = a.batch};
    for (int64_t p : a.n_prompt) {
      if (p == 0) continue;
      o.n_prompt = p, o.n_gen = 0;
      rows.push_back({pool.n_threads(), o, run_bench(model, o, pool), 0});
    }
    for (int64_t n : a.n_gen) {
      if (n == 0) continue;
      o.n_prompt = 0, o.n_gen = n;
      rows.push_back({pool.n_threads(), o, run_bench(model, o, pool), 0});
    }
  }
  uint64_t decode_bytes = 0;  // one probe for this thread count, as large as its largest decode step
  for (const BenchRow& r : rows)
    if (r.options.n_gen > 0) decode_bytes = std::max(decode_bytes, r.result.decode_bytes_per_token);
  if (decode_bytes > 0) {
    const double gbs = measure_read_bandwidth_gbs(pool, probe_bytes_for(decode_bytes));
    for (BenchRow& r : rows) r.read_gbs = r.options.n_gen > 0 ? gbs : 0;
  }
  return rows;
}

void run_bench_cmd(const BenchArgs& a) {
  bool any = false;
  for (int64_t p : a.n_prompt) any |= p > 0;
  for (int64_t n : a.n_gen) any |= n > 0;
  if (!any) throw UserError("bench: -p 0 and -n 0: nothing to measure (give a prompt or a generation length above 0)");
  const auto model = Model::load(a.model);
  std::vector<BenchRow> rows;
  for (int t : a.threads) {
    ThreadPool pool(thread_count(t));
    for (BenchRow& r : run_thread_count(*model, a, pool)) rows.push_back(std::move(r));
  }
  const BenchModelInfo info{a.model, model->config.arch, std::string(best_kernels().isa), a.kv_type,
                            model->file->file_size()};
  if (a.output == "json")
    fmt::print("{}", bench_json(info, rows));
  else if (a.output == "jsonl")
    fmt::print("{}", bench_jsonl(info, rows));
  else if (a.output == "csv")
    fmt::print("{}", bench_csv(info, rows));
  else
    fmt::print("{}", bench_markdown(info, rows, peak_rss_bytes()));
}

void setup(CLI::App& root) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* c = root.add_subcommand("bench", "prompt and generation speed (llama-bench style)");
  c->add_option("-m,--model", a->model, "model GGUF file")->required();
  c->add_option("-p,--n-prompt", a->n_prompt, "prompt tokens, a list (128,512; 0 = skip)")
      ->delimiter(',')
      ->check(at_least(0));
  c->add_option("-n,--n-gen", a->n_gen, "generated tokens, a list (0 = skip)")->delimiter(',')->check(at_least(0));
  c->add_option("-t,--threads", a->threads, "threads, a list (0: every CPU this process may run on)")
      ->delimiter(',')
      ->check(at_least(0));
  c->add_option("-d,--depth", a->depth, "positions already in the KV cache (random rows) before each test, a list")
      ->delimiter(',')
      ->check(at_least(0));
  add_kv_type_option(c, a->kv_type);
  c->add_option("-r,--repetitions", a->repetitions, "repetitions of each test")->check(at_least(1));
  c->add_option("-b,--batch-size", a->batch, "prompt tokens per forward step")->check(at_least(1));
  c->add_option("-o,--output", a->output, "output format: md (a table and notes), json (an array, llama-bench's "
                                          "fields), jsonl (one object a line, to append to a log) or csv (a header "
                                          "and one line per test)")
      ->check(CLI::IsMember({"md", "json", "jsonl", "csv"}));
  c->callback([a] { run_bench_cmd(*a); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
