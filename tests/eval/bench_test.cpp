// tests/eval/bench_test.cpp — the `bitlm bench` harness on a synth micro model: one figure per
// repetition and test, weight counts that add up, named errors; no timing assertions.
#include "eval/bench.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "core/error.h"
#include "model/synth.h"

namespace bitlm {
namespace {

TEST(BenchSpread, MedianMinMax) {
  const BenchSpread odd = bench_spread({3, 1, 2});
  EXPECT_EQ(odd.median, 2);
  EXPECT_EQ(odd.min, 1);
  EXPECT_EQ(odd.max, 3);
  EXPECT_EQ(bench_spread({4, 1, 2, 3}).median, 2.5);
}

TEST(Bench, RunsEachTestOncePerRepetition) {
  const std::string path = "/tmp/bitlm_bench_test_" + std::to_string(getpid()) + ".gguf";
  write_synth_model({.shape = "micro", .seed = 2}, path);
  const auto model = Model::load(path);
  std::remove(path.c_str());
  ThreadPool pool(2);
  const BenchResult r = run_bench(*model, {.n_prompt = 5, .n_gen = 3, .repetitions = 2}, pool);
  EXPECT_EQ(r.prompt_tokens_per_s.size(), 2u);
  EXPECT_EQ(r.gen_tokens_per_s.size(), 2u);
  for (double v : r.gen_tokens_per_s) EXPECT_GT(v, 0);
  EXPECT_GT(r.n_weights, 0);
  EXPECT_GT(r.decode_bytes_per_token, model->weights.output.n_bytes());  // head plus ternary layers
  EXPECT_GT(r.peak_rss_bytes, 0u);
  EXPECT_GT(measure_read_bandwidth_gbs(pool, 8 << 20), 0);
  EXPECT_THROW(run_bench(*model, {.repetitions = 0}, pool), UserError);
  EXPECT_THROW(run_bench(*model, {.n_prompt = 0, .n_gen = 0}, pool), UserError);  // crashed: nothing to warm up with
  const BenchResult pp_only = run_bench(*model, {.n_prompt = 4, .n_gen = 0, .repetitions = 1}, pool);
  EXPECT_TRUE(pp_only.gen_tokens_per_s.empty());
}

// The roofline's probe reads as many bytes as decode streams, within [1 MiB, 512 MiB].
TEST(Bench, ProbeSizeFollowsTheDecodeStep) {
  EXPECT_EQ(probe_bytes_for(5 << 20), uint64_t(5) << 20);
  EXPECT_EQ(probe_bytes_for(1000), uint64_t(1) << 20);
  EXPECT_EQ(probe_bytes_for(uint64_t(3) << 30), kDramProbeBytes);
}

// depth rows sit in the cache before each test; kv_bytes is the whole cache in the chosen type.
TEST(Bench, DepthAndKvType) {
  const std::string path = "/tmp/bitlm_bench_kv_test_" + std::to_string(getpid()) + ".gguf";
  write_synth_model({.shape = "micro", .seed = 3}, path);
  const auto model = Model::load(path);
  std::remove(path.c_str());
  const ModelConfig& c = model->config;
  ThreadPool pool(2);
  uint64_t decode_bytes[2];
  for (KvCacheType kv : {KvCacheType::kF16, KvCacheType::kQ4}) {
    const BenchResult r = run_bench(*model, {.n_prompt = 3, .n_gen = 2, .depth = 20, .repetitions = 1, .kv_type = kv}, pool);
    EXPECT_EQ(r.gen_tokens_per_s.size(), 1u);
    const int64_t row = KvCache::row_bytes_for(kv, c.kv_dim(), c.head_dim);
    EXPECT_EQ(r.kv_bytes, uint64_t(2 * c.n_layer * (20 + 3) * row));
    decode_bytes[kv == KvCacheType::kQ4] = r.decode_bytes_per_token;
  }
  // decode reads the K/V rows at depth + n_gen / 2 positions on top of the weights
  EXPECT_EQ(decode_bytes[0] - decode_bytes[1],
            uint64_t(2 * c.n_layer * 21 * (KvCache::row_bytes_for(KvCacheType::kF16, c.kv_dim(), c.head_dim) -
                                            KvCache::row_bytes_for(KvCacheType::kQ4, c.kv_dim(), c.head_dim))));
  EXPECT_THROW(run_bench(*model, {.depth = -1}, pool), UserError);
}

}  // namespace
}  // namespace bitlm
