// eval/bench.cpp — see bench.h. Each repetition rewinds the cache to `depth`, so every pp run sees
// the same context and every tg run the same growing one (llama-bench's convention); one warm-up
// token first faults in the mmap'd head and spins up the pool.
#include "eval/bench.h"

#include <algorithm>

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
  const int64_t n_vocab = model.config.n_vocab;
  Forward fwd(model, o.depth + std::max<int64_t>(1, std::max(o.n_prompt, o.n_gen)), pool, ActMode::kInt8, 32,
              o.kv_type);
  BenchResult r;
  r.kv_bytes = fwd.kv().n_bytes();
  count_weights(model.weights, r);
  r.decode_bytes_per_token += uint64_t(2 * model.config.n_layer * fwd.kv().row_bytes() * (o.depth + o.n_gen / 2));
  fill_kv_cache(fwd.kv(), model.config.n_layer, o.depth, o.seed + 2);
  const std::vector<int32_t> prompt = random_tokens(o.n_prompt, n_vocab, o.seed);
  const std::vector<int32_t> gen = random_tokens(o.n_gen, n_vocab, o.seed + 1);
  fwd.eval(std::span<const int32_t>(gen.empty() ? prompt.data() : gen.data(), 1));  // warm-up
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
  for (int pass = 0; pass < 3; ++pass) {
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

}  // namespace bitlm
