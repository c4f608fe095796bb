// bench/decode_token_bench.cpp — where a decoded token's time goes. Every matmul of one token of
// a real model file (BITLM_BENCH_MODEL, e.g. from `bitlm synth --shape bitnet-2b4t`) runs through
// the thread pool as model/forward.cpp calls it (W_q/W_k/W_v and W_gate/W_up stacked, the head
// last), on fixed random int8 inputs, with the time of each kind summed over the layers. The
// weights (0.66-0.75 GiB for 2B-4T) exceed the L3, so every byte comes from DRAM as in decode.
// Also: the pool's hand-off alone (an empty run) and `bitlm bench`'s read-bandwidth probe, so the
// GB/s of each kind can be set against the machine's and the sum against `bitlm bench`'s tg.
// Run: BITLM_BENCH_MODEL=FILE decode_token_bench --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/sys.h"
#include "eval/bench.h"
#include "model/model.h"
#include "quant/matrix.h"

namespace bitlm {
namespace {

enum Kind { kQkv, kO, kGateUp, kDown, kHead, kKinds };
constexpr const char* kKindNames[kKinds] = {"qkv", "o", "gate_up", "down", "head"};

void fill_random(QuantizedActivations& x, int64_t cols, Rng& rng) {
  x.resize(1, cols);
  int32_t sum = 0;
  for (int64_t i = 0; i < cols; ++i) sum += x.q[size_t(i)] = int8_t(int(rng.below(255)) - 127);
  x.sum[0] = sum;
  x.scale[0] = 1.0f;
}

struct Setup {
  std::unique_ptr<Model> model;
  QuantizedActivations x_model, x_ffn;  // inputs of D and F columns
  std::vector<float> x_head, y[3];
  uint64_t bytes[kKinds] = {};

  explicit Setup(const std::string& path) : model(Model::load(path)) {
    const ModelConfig& c = model->config;
    Rng rng(1);
    fill_random(x_model, c.n_embd, rng);
    fill_random(x_ffn, c.n_ff, rng);
    x_head.resize(size_t(c.n_embd));
    for (float& v : x_head) v = float(int(rng.below(2001)) - 1000) * 1e-3f;
    for (auto& v : y) v.resize(size_t(std::max(c.n_vocab, c.n_ff)));
    for (const LayerWeights& l : model->weights.layers) {
      bytes[kQkv] += l.wq.n_bytes() + l.wk.n_bytes() + l.wv.n_bytes();
      bytes[kO] += l.wo.n_bytes();
      bytes[kGateUp] += l.w_gate.n_bytes() + l.w_up.n_bytes();
      bytes[kDown] += l.w_down.n_bytes();
    }
    bytes[kHead] = model->weights.output.n_bytes();
  }
};

Setup* setup() {
  static std::unique_ptr<Setup> s = [] {
    const char* path = std::getenv("BITLM_BENCH_MODEL");
    return path ? std::make_unique<Setup>(path) : nullptr;
  }();
  return s.get();
}

// One token's matmuls; seconds[k] += the wall time of kind k.
void token(Setup& s, ThreadPool& pool, double* seconds) {
  float* ys[3] = {s.y[0].data(), s.y[1].data(), s.y[2].data()};
  const auto timed = [&](Kind k, const auto& fn) {
    const double t0 = now_seconds();
    fn();
    seconds[k] += now_seconds() - t0;
  };
  for (const LayerWeights& l : s.model->weights.layers) {
    const TernaryMatrix* qkv[] = {&l.wq.ternary, &l.wk.ternary, &l.wv.ternary};
    const TernaryMatrix* gate_up[] = {&l.w_gate.ternary, &l.w_up.ternary};
    timed(kQkv, [&] { ternary_matmul_multi(qkv, s.x_model, ys, pool); });
    timed(kO, [&] { ternary_matmul(l.wo.ternary, s.x_model, ys[0], pool); });
    timed(kGateUp, [&] { ternary_matmul_multi(gate_up, s.x_model, {ys, 2}, pool); });
    timed(kDown, [&] { ternary_matmul(l.w_down.ternary, s.x_ffn, ys[0], pool); });
  }
  timed(kHead, [&] { dense_matmul(s.model->weights.output, s.x_head.data(), 1, ys[0], pool); });
}

// Counters: GB/s of every kind and of the whole token, tokens/s, and each kind's share of the time.
void decode_token(benchmark::State& state) {
  Setup* s = setup();
  if (!s) return state.SkipWithError("set BITLM_BENCH_MODEL to a model file");
  ThreadPool pool(int(state.range(0)));
  double seconds[kKinds] = {};
  for (auto _ : state) token(*s, pool, seconds);
  double total_s = 0;
  uint64_t total_bytes = 0;
  for (int k = 0; k < kKinds; ++k) total_s += seconds[k], total_bytes += s->bytes[k];
  const double n = double(state.iterations());
  for (int k = 0; k < kKinds; ++k) {
    state.counters[std::string(kKindNames[k]) + "_GB/s"] = double(s->bytes[k]) * n / seconds[k] * 1e-9;
    state.counters[std::string(kKindNames[k]) + "_share"] = seconds[k] / total_s;
  }
  state.counters["GB/s"] = double(total_bytes) * n / total_s * 1e-9;
  state.counters["tokens/s"] = n / total_s;
}

// One empty hand-off to the workers and back (decode makes 4 per layer and 1 for the head).
void pool_run(benchmark::State& state) {
  ThreadPool pool(int(state.range(0)));
  for (auto _ : state) pool.run([](int, int) {});
}

void probe(benchmark::State& state) {
  ThreadPool pool(int(state.range(0)));
  double gbs = 0;
  for (auto _ : state) gbs = measure_read_bandwidth_gbs(pool);
  state.counters["probe_GB/s"] = gbs;
}

BENCHMARK(decode_token)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(pool_run)->Arg(2)->UseRealTime();
BENCHMARK(probe)->Arg(1)->Arg(2)->UseRealTime()->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace bitlm

BENCHMARK_MAIN();
