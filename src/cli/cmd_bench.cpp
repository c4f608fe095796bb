// cli/cmd_bench.cpp — `bitlm bench`: prompt (pp) and generation (tg) speed of a model file as
// llama-bench prints them, with the spread over repetitions, memory and the share of this
// machine's read bandwidth that decode achieves (eval/bench.h).
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "core/thread_pool.h"
#include "eval/bench.h"
#include "model/model.h"
#include "quant/gemv_t2.h"

namespace bitlm::cli {
namespace {

struct BenchArgs {
  std::string model, kv_type = "f16";
  int threads = 0;
  BenchOptions o;
};

void print_row(const char* test, int64_t n, const std::vector<double>& tps) {
  const BenchSpread s = bench_spread(tps);
  fmt::print("| {:>5}{:<4} | {:>9.2f} | {:>7.2f} - {:<7.2f} | {:>9.2f} |\n", test, n, s.median, s.min, s.max,
             1e3 / s.median);
}

void run_bench_cmd(const BenchArgs& a) {
  const auto model = Model::load(a.model);
  ThreadPool pool(thread_count(a.threads));
  BenchOptions o = a.o;
  o.kv_type = parse_kv_type(a.kv_type);
  const BenchResult r = run_bench(*model, o, pool);
  const double bw = measure_read_bandwidth_gbs(pool);
  const ModelConfig& c = model->config;
  fmt::print("model: {} ({}, D {}, {} layers, vocab {}) | weights {:.1f} MiB, {:.3f} G params, {:.2f} bits/weight\n",
             a.model, c.arch, c.n_embd, c.n_layer, c.n_vocab, double(r.weight_bytes) / (1 << 20),
             double(r.n_weights) / 1e9, 8.0 * double(r.weight_bytes) / double(r.n_weights));
  fmt::print("isa: {} | threads: {} | repetitions: {} | peak RSS {:.0f} MiB\n", best_kernels().isa, pool.n_threads(),
             a.o.repetitions, double(r.peak_rss_bytes) / (1 << 20));
  fmt::print("kv cache: {} | {:.2f} MiB at context {} (depth {})\n\n", a.kv_type, double(r.kv_bytes) / (1 << 20),
             a.o.depth + std::max<int64_t>(1, std::max(a.o.n_prompt, a.o.n_gen)), a.o.depth);
  fmt::print("| test      |       t/s | min - max t/s     | ms/token  |\n");
  fmt::print("|-----------|-----------|-------------------|-----------|\n");
  if (!r.prompt_tokens_per_s.empty()) print_row("pp", a.o.n_prompt, r.prompt_tokens_per_s);
  if (!r.gen_tokens_per_s.empty()) print_row("tg", a.o.n_gen, r.gen_tokens_per_s);
  if (!r.gen_tokens_per_s.empty()) {
    const double gbs = double(r.decode_bytes_per_token) * bench_spread(r.gen_tokens_per_s).median / 1e9;
    fmt::print("\ndecode streams {:.1f} MiB/token = {:.2f} GB/s = {:.0f}% of the measured read bandwidth "
               "({:.2f} GB/s, {} threads)\n",
               double(r.decode_bytes_per_token) / (1 << 20), gbs, 100 * gbs / bw, bw, pool.n_threads());
  }
}

void setup(CLI::App& root) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* c = root.add_subcommand("bench", "prompt and generation speed (llama-bench style)");
  c->add_option("-m,--model", a->model, "model GGUF file")->required();
  c->add_option("-p,--n-prompt", a->o.n_prompt, "prompt tokens (0 = skip)")->check(CLI::NonNegativeNumber);
  c->add_option("-n,--n-gen", a->o.n_gen, "generated tokens (0 = skip)")->check(CLI::NonNegativeNumber);
  c->add_option("-t,--threads", a->threads, "threads (default: all available)")->check(CLI::NonNegativeNumber);
  c->add_option("-d,--depth", a->o.depth, "positions already in the KV cache (random rows) before each test")
      ->check(CLI::NonNegativeNumber);
  add_kv_type_option(c, a->kv_type);
  c->add_option("-r,--repetitions", a->o.repetitions, "repetitions of each test")->check(CLI::PositiveNumber);
  c->callback([a] { run_bench_cmd(*a); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
