// eval/bench.h — the speed harness behind `bitlm bench` (llama-bench's pp/tg tests): prompt
// processing of n_prompt tokens in one eval from an empty cache, and generation of n_gen tokens
// one at a time from an empty cache, each repeated; plus a read-bandwidth probe so decode can be
// reported as a share of what this machine's memory delivers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace bitlm {

struct BenchOptions {
  int64_t n_prompt = 128, n_gen = 64;
  int64_t depth = 0;  // positions already in the KV cache before each test (llama-bench's -d)
  int repetitions = 5;
  uint64_t seed = 1;  // the token ids are random (speed does not depend on them)
  KvCacheType kv_type = KvCacheType::kF16;
};

struct BenchSpread { double median = 0, min = 0, max = 0; };
BenchSpread bench_spread(std::vector<double> values);

struct BenchResult {
  std::vector<double> prompt_tokens_per_s, gen_tokens_per_s;  // one per repetition
  uint64_t weight_bytes = 0;          // every tensor the forward reads (ternary packed + dense)
  uint64_t decode_bytes_per_token = 0;  // layer weights + output head + the K/V rows attention reads
                                        // (mean over the tg run): what one decode step streams
  int64_t n_weights = 0;              // parameters behind weight_bytes
  uint64_t peak_rss_bytes = 0;        // after the runs, before the bandwidth probe
  uint64_t kv_bytes = 0;              // the KV cache at depth + max(n_prompt, n_gen) context
};

// Runs the tests on `model` with a fresh Forward of depth + max(n_prompt, n_gen) context. The
// first `depth` rows are random K/V rows stored straight into the cache: attention's cost does not
// depend on their values, and a real prefill of a long depth would take minutes on large shapes.
BenchResult run_bench(const Model& model, const BenchOptions& options, ThreadPool& pool);

// Best of 3 passes of a plain read of `n_bytes` split over the pool's threads, GB/s (1e9 B/s), with
// the software prefetch of the decode kernels (core/prefetch.h): without it this VM's probe read
// ~10% less than the prefetching GEMVs stream, and the roofline share exceeded 100%.
double measure_read_bandwidth_gbs(ThreadPool& pool, uint64_t n_bytes = uint64_t(512) << 20);

}  // namespace bitlm
