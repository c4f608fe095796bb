// bench/attention_kv_bench.cpp — one decode attention head over an f16 / q8 / q4 KV cache, one
// thread, on 2B-4T's shape (head dim 128, 5 KV heads per cache row) at 512 and 4096 positions.
// bytes_per_second counts the head's K and V bytes in the cache's storage; items_per_second are
// positions. BITLM_ISA=ref|avx2 picks the q8/q4 kernels (the f16 head is AVX2 when the CPU can).
#include <benchmark/benchmark.h>

#include <vector>

#include "core/fp16.h"
#include "core/rng.h"
#include "ops/attention.h"
#include "ops/attention_quant.h"

namespace bitlm {
namespace {

constexpr int kDh = 128, kHeads = 5;

std::vector<float> normals(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.normal());
  return v;
}

template <typename Block>
void quantized(benchmark::State& state, void (*quantize)(const float*, int, Block*),
               void (*head)(const float*, const Block*, const Block*, int64_t, int64_t, int, float*, float*)) {
  const int64_t n_pos = state.range(0), bph = kv_blocks_per_head(kDh), stride = kHeads * bph;
  const auto k = normals(size_t(n_pos * kHeads * kDh), 1), v = normals(k.size(), 2), q = normals(kDh, 3);
  std::vector<Block> kq(size_t(n_pos * stride)), vq(kq.size());
  for (int64_t r = 0; r < n_pos * kHeads; ++r) {
    quantize(k.data() + r * kDh, kDh, kq.data() + r * bph);
    quantize(v.data() + r * kDh, kDh, vq.data() + r * bph);
  }
  std::vector<float> scores(static_cast<size_t>(n_pos)), out(kDh);
  for (auto _ : state) {
    head(q.data(), kq.data(), vq.data(), stride, n_pos, kDh, scores.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * 2 * n_pos * bph * int64_t(sizeof(Block)));
  state.SetItemsProcessed(int64_t(state.iterations()) * n_pos);
}

void f16(benchmark::State& state) {
  const int64_t n_pos = state.range(0), row = kHeads * kDh;
  const auto k = normals(size_t(n_pos * row), 1), v = normals(k.size(), 2), q = normals(kDh, 3);
  std::vector<uint16_t> kh(k.size()), vh(v.size());
  for (size_t i = 0; i < k.size(); ++i) kh[i] = f32_to_fp16(k[i]), vh[i] = f32_to_fp16(v[i]);
  std::vector<float> scores(static_cast<size_t>(n_pos)), out(kDh);
  for (auto _ : state) {
    attention_head_forward_f16(q.data(), kh.data(), vh.data(), row, n_pos, kDh, scores.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * 2 * n_pos * kDh * 2);
  state.SetItemsProcessed(int64_t(state.iterations()) * n_pos);
}

}  // namespace
}  // namespace bitlm

int main(int argc, char** argv) {
  using namespace bitlm;
  for (int64_t n : {512, 4096}) {
    benchmark::RegisterBenchmark("attention_head/f16", f16)->Arg(n);
    benchmark::RegisterBenchmark("attention_head/q8", quantized<KvBlockQ8>, quantize_kv_q8, attention_head_forward_q8)
        ->Arg(n);
    benchmark::RegisterBenchmark("attention_head/q4", quantized<KvBlockQ4>, quantize_kv_q4, attention_head_forward_q4)
        ->Arg(n);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
