// eval/bench.cpp — see bench.h. Each repetition rewinds the cache to `depth`, so every pp run sees
// the same context and every tg run the same growing one (llama-bench's convention); one warm-up
// token first faults in the mmap'd head and spins up the pool.
#include "eval/bench.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/aligned.h"
#include "core/error.h"
#include "core/prefetch.h"
#include "core/rng.h"
#include "core/sys.h"
#include "model/forward.h"

namespace bitlm {
namespace {

std::vector<int32_t> random_tokens(int64_t n, int64_t n_vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& id : t) id = int32_t(rng.below(uint64_t(n_vocab)));
  return t;
}

void count_weights(const ModelWeights& w, BenchResult& r) {
  uint64_t linear = 0;  // packed ternary, or float in an fp model
  int64_t n = w.token_embd.rows() * w.token_embd.cols();
  for (const LayerWeights& L : w.layers)
    for (const LinearWeights* m : L.linears()) {
      linear += m->n_bytes();
      n += m->rows() * m->cols();
    }
  r.weight_bytes = linear + w.token_embd.n_bytes() + (w.tied_output ? 0 : w.output.n_bytes());
  r.n_weights = n + (w.tied_output ? 0 : w.output.rows() * w.output.cols());
  r.decode_bytes_per_token = linear + w.output.n_bytes();
}

// Random N(0, 1) rows at positions [0, depth) of every layer.
void fill_kv_cache(KvCache& kv, int64_t n_layer, int64_t depth, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> k(size_t(kv.kv_dim())), v(k.size());
  for (int64_t l = 0; l < n_layer; ++l)
    for (int64_t p = 0; p < depth; ++p) {
      for (size_t i = 0; i < k.size(); ++i) k[i] = float(rng.normal()), v[i] = float(rng.normal());
      kv.store(l, p, k.data(), v.data());
    }
  kv.set_n_pos(depth);
}

}  // namespace

BenchSpread bench_spread(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return {n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v.front(), v.back()};
}

BenchResult run_bench(const Model& model, const BenchOptions& o, ThreadPool& pool) {
  if (o.n_prompt < 0 || o.n_gen < 0 || o.repetitions < 1)
    throw UserError(fmt::format("bench: -p {} -n {} -r {}: counts must be >= 0 and repetitions >= 1", o.n_prompt,
                                o.n_gen, o.repetitions));
  BITLM_CHECK(o.depth >= 0, "bench: depth {} must be >= 0", o.depth);
  if (o.n_prompt == 0 && o.n_gen == 0)
    throw UserError("bench: -p 0 and -n 0: nothing to measure (give a prompt or a generation length above 0)");
  const int64_t n_vocab = model.config.n_vocab;
  Forward fwd(model, o.depth + std::max<int64_t>(1, std::max(o.n_prompt, o.n_gen)), pool, ActMode::kInt8, o.batch,
              o.kv_type);
  BenchResult r;
  r.kv_bytes = fwd.kv().n_bytes();
  count_weights(model.weights, r);
  r.decode_bytes_per_token += uint64_t(2 * model.config.n_layer * fwd.kv().row_bytes() * (o.depth + o.n_gen / 2));
  fill_kv_cache(fwd.kv(), model.config.n_layer, o.depth, o.seed + 2);
  const std::vector<int32_t> prompt = random_tokens(o.n_prompt, n_vocab, o.seed);
  const std::vector<int32_t> gen = random_tokens(o.n_gen, n_vocab, o.seed + 1);
  fwd.eval(std::span<const int32_t>(gen.empty() ? prompt.data() : gen.data(), 1));  // warm-up (one is non-empty)
  for (int rep = 0; rep < o.repetitions; ++rep) {
    if (o.n_prompt > 0) {
      fwd.kv().set_n_pos(o.depth);
      const double t0 = now_seconds();
      fwd.eval(prompt);
      r.prompt_tokens_per_s.push_back(double(o.n_prompt) / (now_seconds() - t0));
    }
    if (o.n_gen > 0) {
      fwd.kv().set_n_pos(o.depth);
      const double t0 = now_seconds();
      for (int32_t id : gen) fwd.eval(std::span<const int32_t>(&id, 1));
      r.gen_tokens_per_s.push_back(double(o.n_gen) / (now_seconds() - t0));
    }
  }
  r.peak_rss_bytes = peak_rss_bytes();
  return r;
}

double measure_read_bandwidth_gbs(ThreadPool& pool, uint64_t n_bytes) {
  const int64_t n = int64_t(n_bytes / sizeof(uint64_t));
  AlignedBuffer<uint64_t> storage(size_t(n), /*zero=*/false);
  uint64_t* buf = storage.data();
  pool.run([&](int t, int nt) {  // first touch by the thread that reads the range
    for (int64_t i = n * t / nt; i < n * (t + 1) / nt; ++i) buf[i] = uint64_t(i);
  });
  double best = 0;
  std::vector<uint64_t> sink(size_t(pool.n_threads()) * 8);
  const uint64_t passes = std::max<uint64_t>(3, (uint64_t(1) << 30) / std::max<uint64_t>(n_bytes, 1));
  for (uint64_t pass = 0; pass < passes; ++pass) {
    const double t0 = now_seconds();
    pool.run([&](int t, int nt) {
      const int64_t b = n * t / nt, e = n * (t + 1) / nt;
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;  // four chains so the loop is load-bound, not add-bound
      int64_t i = b;
      for (; i + 8 <= e; i += 8) {  // one cache line, prefetched ahead as the decode kernels do
        prefetch_ahead(buf + i);
        s0 += buf[i] + buf[i + 4], s1 += buf[i + 1] + buf[i + 5], s2 += buf[i + 2] + buf[i + 6];
        s3 += buf[i + 3] + buf[i + 7];
      }
      for (; i < e; ++i) s0 += buf[i];
      sink[size_t(t) * 8] = s0 + s1 + s2 + s3;  // one cache line apart: no false sharing
    });
    best = std::max(best, double(n_bytes) / (now_seconds() - t0) / 1e9);
  }
  BITLM_CHECK(sink[0] != 1, "unreachable");  // keeps the sums observable
  return best;
}

uint64_t probe_bytes_for(uint64_t decode_bytes_per_token) {
  return std::clamp<uint64_t>(decode_bytes_per_token, uint64_t(1) << 20, kDramProbeBytes);
}

std::string BenchRow::name() const {
  const std::string test = options.n_prompt > 0 ? fmt::format("pp{}", options.n_prompt) : fmt::format("tg{}", options.n_gen);
  return options.depth > 0 ? fmt::format("{} @ d{}", test, options.depth) : test;
}

namespace {

struct RowFigures {
  BenchSpread spread;
  double mean = 0, stddev = 0;  // t/s over the repetitions (llama-bench's avg_ts, stddev_ts)
  double decode_gbs = 0, share = 0;  // tg rows: bytes streamed per second, and that over read_gbs
};

RowFigures figures(const BenchRow& row) {
  const std::vector<double>& v = row.options.n_prompt > 0 ? row.result.prompt_tokens_per_s : row.result.gen_tokens_per_s;
  RowFigures f;
  f.spread = bench_spread(v);
  for (double x : v) f.mean += x / double(v.size());
  for (double x : v) f.stddev += (x - f.mean) * (x - f.mean);
  f.stddev = v.size() > 1 ? std::sqrt(f.stddev / double(v.size() - 1)) : 0;
  if (row.options.n_gen > 0) {
    f.decode_gbs = double(row.result.decode_bytes_per_token) * f.spread.median / 1e9;
    f.share = row.read_gbs > 0 ? f.decode_gbs / row.read_gbs : 0;
  }
  return f;
}

double bits_per_weight(const BenchResult& r) { return 8.0 * double(r.weight_bytes) / double(std::max<int64_t>(r.n_weights, 1)); }

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::ordered_json row_json(const BenchModelInfo& info, const BenchRow& row, const std::string& time) {
  const RowFigures f = figures(row);
  const BenchResult& r = row.result;
  const int64_t n_tokens = row.options.n_prompt > 0 ? row.options.n_prompt : row.options.n_gen;
  const std::vector<double>& ts = row.options.n_prompt > 0 ? r.prompt_tokens_per_s : r.gen_tokens_per_s;
  std::vector<int64_t> ns;
  for (double x : ts) ns.push_back(int64_t(std::llround(double(n_tokens) / x * 1e9)));
  return {{"model_filename", info.path}, {"model_type", info.arch}, {"model_size", r.weight_bytes},
          {"model_file_size", info.file_bytes}, {"model_n_params", r.n_weights}, {"bits_per_weight", bits_per_weight(r)},
          {"isa", info.isa}, {"n_threads", row.threads}, {"kv_type", info.kv_type},
          {"n_prompt", row.options.n_prompt}, {"n_gen", row.options.n_gen}, {"n_depth", row.options.depth},
          {"test", row.name()}, {"test_time", time}, {"repetitions", ts.size()},
          {"avg_ts", f.mean}, {"stddev_ts", f.stddev}, {"median_ts", f.spread.median}, {"min_ts", f.spread.min},
          {"max_ts", f.spread.max}, {"samples_ts", ts}, {"samples_ns", ns}, {"kv_bytes", r.kv_bytes},
          {"peak_rss_bytes", r.peak_rss_bytes}, {"decode_bytes_per_token", row.options.n_gen > 0 ? r.decode_bytes_per_token : 0},
          {"read_gbs", row.read_gbs}, {"bandwidth_share", f.share}};
}

// RFC 4180: quoted, a quote doubled.
std::string csv_quote(std::string_view s) {
  std::string out(1, '"');
  for (char ch : s) {
    out += ch;
    if (ch == '"') out += '"';
  }
  out += '"';
  return out;
}

// llama-bench writes a list (samples_ts) as one quoted field of space-separated numbers.
std::string csv_cell(const nlohmann::ordered_json& value) {
  if (value.is_string()) return csv_quote(value.get<std::string>());
  if (!value.is_array()) return value.dump();
  std::string list;
  for (const auto& x : value) {
    if (!list.empty()) list += ' ';
    list += x.dump();
  }
  return csv_quote(list);
}

}  // namespace

std::string bench_markdown(const BenchModelInfo& info, const std::vector<BenchRow>& rows, uint64_t process_peak_rss) {
  if (rows.empty()) return {};
  const BenchResult& r0 = rows.front().result;
  std::string out = fmt::format(
      "model: {} ({}) | weights {:.1f} MiB, {:.3f} G params, {:.2f} bits/weight | file {:.1f} MiB\n", info.path,
      info.arch, double(r0.weight_bytes) / (1 << 20), double(r0.n_weights) / 1e9, bits_per_weight(r0),
      double(info.file_bytes) / (1 << 20));
  uint64_t tests_peak = 0;
  for (const BenchRow& row : rows) tests_peak = std::max(tests_peak, row.result.peak_rss_bytes);
  out += fmt::format("isa: {} | repetitions: {} | kv cache: {} | peak RSS {:.0f} MiB (the process's, mmapped model "
                     "pages included; {:.0f} MiB before the last bandwidth probe)\n\n",
                     info.isa, rows.front().options.repetitions, info.kv_type, double(process_peak_rss) / (1 << 20),
                     double(tests_peak) / (1 << 20));
  out += "| test          | threads |       t/s | min - max t/s     | ms/token  | KV MiB | decode GB/s | % of read bw |\n";
  out += "|---------------|--------:|----------:|-------------------|----------:|-------:|------------:|-------------:|\n";
  for (const BenchRow& row : rows) {
    const RowFigures f = figures(row);
    const bool tg = row.options.n_gen > 0;
    out += fmt::format("| {:<13} | {:>7} | {:>9.2f} | {:>7.2f} - {:<7.2f} | {:>9.2f} | {:>6.2f} | {:>11} | {:>12} |\n",
                       row.name(), row.threads, f.spread.median, f.spread.min, f.spread.max, 1e3 / f.spread.median,
                       double(row.result.kv_bytes) / (1 << 20), tg ? fmt::format("{:.2f}", f.decode_gbs) : "-",
                       tg ? fmt::format("{:.0f}%", 100 * f.share) : "-");
  }
  std::string probes;  // one per thread count: the tg rows of one thread count share a probe
  int last_threads = -1;
  for (const BenchRow& row : rows) {
    if (row.options.n_gen == 0 || row.threads == last_threads) continue;
    last_threads = row.threads;
    probes += fmt::format("{}{:.2f} GB/s at {} thread{}", probes.empty() ? "" : ", ", row.read_gbs, row.threads,
                          row.threads == 1 ? "" : "s");
  }
  if (!probes.empty()) {
    uint64_t decode_bytes = 0;
    for (const BenchRow& row : rows)
      if (row.options.n_gen > 0) decode_bytes = std::max(decode_bytes, row.result.decode_bytes_per_token);
    const uint64_t probe = probe_bytes_for(decode_bytes);
    out += fmt::format("\ndecode streams {:.1f} MiB/token (layer weights, head, K/V rows); read bandwidth, the best "
                       "read of a {:.1f} MiB buffer ({}): {}\n",
                       double(decode_bytes) / (1 << 20), double(probe) / (1 << 20),
                       probe < kDramProbeBytes ? "as many bytes, so a model that stays in cache meets the cache's speed"
                                                : "past any cache",
                       probes);
  }
  return out;
}

std::string bench_json(const BenchModelInfo& info, const std::vector<BenchRow>& rows) {
  const std::string time = utc_now();
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const BenchRow& row : rows) out.push_back(row_json(info, row, time));
  return out.dump(2) + "\n";
}

std::string bench_jsonl(const BenchModelInfo& info, const std::vector<BenchRow>& rows) {
  const std::string time = utc_now();
  std::string out;
  for (const BenchRow& row : rows) out += row_json(info, row, time).dump() + '\n';
  return out;
}

std::string bench_csv(const BenchModelInfo& info, const std::vector<BenchRow>& rows) {
  const std::string time = utc_now();
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    const nlohmann::ordered_json j = row_json(info, rows[i], time);
    std::string header, line;
    for (const auto& [key, value] : j.items()) {
      if (!line.empty()) header += ',', line += ',';
      header += key;
      line += csv_cell(value);
    }
    if (i == 0) out += header + '\n';
    out += line + '\n';
  }
  return out;
}

}  // namespace bitlm
