// bench/train_kernels_bench.cpp — the training step's fp32 kernels at the bundled model's shapes
// (configs/tinystories-b158.json: one 256-token sequence, D 256, F 688, V 4096, 8 heads of 32),
// one thread: the BitLinear dX/dW matmuls, the tied head's, attention forward/backward and the
// cross-entropy. items_per_second counts multiply-adds (matmuls) or logits (cross-entropy).
#include <benchmark/benchmark.h>

#include <vector>

#include "core/rng.h"
#include "ops/ops_backward.h"

namespace bitlm {
namespace {

constexpr int64_t kTokens = 256;

std::vector<float> randn(int64_t n, double scale = 1.0) {
  static Rng rng(7);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = float(rng.normal() * scale);
  return v;
}

// dX += dY W: dY (T, N), W (N, K).
void backward_input(benchmark::State& state) {
  const int64_t N = state.range(0), K = state.range(1);
  auto dy = randn(kTokens * N), w = randn(N * K), dx = randn(kTokens * K);
  ThreadPool pool(1);
  for (auto _ : state) matmul_backward_input({dy.data(), kTokens, N}, {w.data(), N, K}, {dx.data(), kTokens, K}, pool);
  state.SetItemsProcessed(state.iterations() * kTokens * N * K);
}

// dW += dY^T X: dY (T, N), X (T, K).
void backward_weight(benchmark::State& state) {
  const int64_t N = state.range(0), K = state.range(1);
  auto dy = randn(kTokens * N), x = randn(kTokens * K), dw = randn(N * K);
  ThreadPool pool(1);
  for (auto _ : state) matmul_backward_weight({dy.data(), kTokens, N}, {x.data(), kTokens, K}, {dw.data(), N, K}, pool);
  state.SetItemsProcessed(state.iterations() * kTokens * N * K);
}

void forward(benchmark::State& state) {
  const int64_t N = state.range(0), K = state.range(1);
  auto x = randn(kTokens * K), w = randn(N * K), y = randn(kTokens * N);
  ThreadPool pool(1);
  for (auto _ : state) matmul_forward({x.data(), kTokens, K}, {w.data(), N, K}, {y.data(), kTokens, N}, pool);
  state.SetItemsProcessed(state.iterations() * kTokens * N * K);
}

// The same product from W^T (K, N), as the training head runs it.
void forward_transposed(benchmark::State& state) {
  const int64_t N = state.range(0), K = state.range(1);
  auto x = randn(kTokens * K), w_t = randn(K * N), y = randn(kTokens * N);
  ThreadPool pool(1);
  for (auto _ : state) matmul_forward_transposed({x.data(), kTokens, K}, {w_t.data(), K, N}, {y.data(), kTokens, N}, pool);
  state.SetItemsProcessed(state.iterations() * kTokens * N * K);
}

// Causal attention, one sequence, 8 heads of 32: ~T^2/2 * Dh multiply-adds per head and matmul.
void attention(benchmark::State& state) {
  const bool backward = state.range(0) != 0;
  const int H = 8, Dh = 32;
  const int64_t D = H * Dh;
  auto q = randn(kTokens * D), k = randn(kTokens * D), v = randn(kTokens * D), dout = randn(kTokens * D);
  std::vector<float> out(q.size()), dq(q.size()), dk(q.size()), dv(q.size());
  ThreadPool pool(1);
  Mat<const float> Q{q.data(), kTokens, D}, K{k.data(), kTokens, D}, V{v.data(), kTokens, D};
  for (auto _ : state) {
    if (backward)
      attention_backward({dout.data(), kTokens, D}, Q, K, V, H, H, Dh, kTokens, {dq.data(), kTokens, D},
                         {dk.data(), kTokens, D}, {dv.data(), kTokens, D}, pool);
    else
      attention_forward_mt(Q, K, V, H, H, Dh, kTokens, {out.data(), kTokens, D}, pool);
  }
  state.SetItemsProcessed(state.iterations() * H * (kTokens * kTokens / 2) * Dh * (backward ? 5 : 2));
}

// SwiGLU backward over (256, F 688); items: elements.
void swiglu_grad(benchmark::State& state) {
  const int64_t F = 688;
  auto d = randn(kTokens * F), g = randn(kTokens * F, 3.0), u = randn(kTokens * F);
  std::vector<float> dg(d.size()), du(d.size());
  for (auto _ : state)
    swiglu_backward({d.data(), kTokens, F}, {g.data(), kTokens, F}, {u.data(), kTokens, F}, {dg.data(), kTokens, F},
                    {du.data(), kTokens, F});
  state.SetItemsProcessed(state.iterations() * kTokens * F);
}

void cross_entropy(benchmark::State& state) {
  const int64_t V = 4096;
  auto logits = randn(kTokens * V, 3.0), work = logits;
  std::vector<int32_t> targets(static_cast<size_t>(kTokens));
  for (int64_t t = 0; t < kTokens; ++t) targets[size_t(t)] = int32_t((t * 977) % V);
  ThreadPool pool(1);
  for (auto _ : state) {
    state.PauseTiming();
    work = logits;
    state.ResumeTiming();
    benchmark::DoNotOptimize(cross_entropy_forward_backward({work.data(), kTokens, V}, targets, 1.0f / 2048, pool));
  }
  state.SetItemsProcessed(state.iterations() * kTokens * V);
}

}  // namespace
}  // namespace bitlm

// {N, K}: attention q (256x256), FFN up (688x256), FFN down (256x688), the head (4096x256).
BENCHMARK(bitlm::backward_input)->Args({256, 256})->Args({688, 256})->Args({256, 688})->Args({4096, 256});
BENCHMARK(bitlm::backward_weight)->Args({256, 256})->Args({688, 256})->Args({256, 688})->Args({4096, 256});
BENCHMARK(bitlm::forward)->Args({4096, 256});
BENCHMARK(bitlm::forward_transposed)->Args({4096, 256});
BENCHMARK(bitlm::attention)->Arg(0)->Arg(1);
BENCHMARK(bitlm::swiglu_grad);
BENCHMARK(bitlm::cross_entropy);
BENCHMARK_MAIN();
