// eval/bench.h — the speed harness behind `bitlm bench` (llama-bench's pp/tg tests): prompt
// processing of n_prompt tokens in one eval from an empty cache, and generation of n_gen tokens
// one at a time from an empty cache, each repeated; plus a read-bandwidth probe so decode can be
// reported as a share of what this machine's memory delivers; and the report writers (markdown,
// JSON, CSV) for a list of such tests, with llama-bench's field names where it has one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace bitlm {

struct BenchOptions {
  int64_t n_prompt = 128, n_gen = 64;
  int64_t depth = 0;  // positions already in the KV cache before each test (llama-bench's -d)
  int repetitions = 5;
  uint64_t seed = 1;  // the token ids are random (speed does not depend on them)
  KvCacheType kv_type = KvCacheType::kF16;
  // Prompt tokens per forward step (llama-bench's -b/-ub), the CLI's step by default: each 2-row
  // group of ternary codes is decoded once per step and reused by every token of it
  // (quant/native_rows_avx2.h), so 64 halves that decode's share of pp against 32.
  int64_t batch = kPromptStep;
};

struct BenchSpread { double median = 0, min = 0, max = 0; };
BenchSpread bench_spread(std::vector<double> values);

struct BenchResult {
  std::vector<double> prompt_tokens_per_s, gen_tokens_per_s;  // one per repetition
  uint64_t weight_bytes = 0;          // every tensor the forward reads (ternary packed + dense)
  uint64_t decode_bytes_per_token = 0;  // layer weights + output head + the K/V rows attention reads
                                        // (mean over the tg run): what one decode step streams
  int64_t n_weights = 0;              // parameters behind weight_bytes
  uint64_t peak_rss_bytes = 0;        // the process's peak (VmHWM: mmapped model pages included) after the runs
  uint64_t kv_bytes = 0;              // the KV cache at depth + max(n_prompt, n_gen) context
};

// Runs the tests on `model` with a fresh Forward of depth + max(n_prompt, n_gen) context. The
// first `depth` rows are random K/V rows stored straight into the cache: attention's cost does not
// depend on their values, and a real prefill of a long depth would take minutes on large shapes.
// Throws UserError when there is nothing to run (n_prompt and n_gen both 0).
BenchResult run_bench(const Model& model, const BenchOptions& options, ThreadPool& pool);

// The best of repeated passes (at least 3, and at least 1 GiB read in all) of a plain read of
// `n_bytes` split over the pool's threads, GB/s (1e9 B/s), with the software prefetch of the decode
// kernels (core/prefetch.h): without it this VM's probe read ~10% less than the prefetching GEMVs
// stream, and the roofline share exceeded 100%.
inline constexpr uint64_t kDramProbeBytes = uint64_t(512) << 20;  // past any last-level cache
double measure_read_bandwidth_gbs(ThreadPool& pool, uint64_t n_bytes = kDramProbeBytes);

// The buffer to compare decode with: as many bytes as one decode step streams, so a model whose
// weights stay in cache is compared with the cache's bandwidth, not DRAM's (the tiny bundled model
// decoded at "146% of the read bandwidth" against a 512 MiB probe); at least 1 MiB (shorter passes
// measure the pool's hand-off more than the memory) and at most kDramProbeBytes.
uint64_t probe_bytes_for(uint64_t decode_bytes_per_token);

// One row of a `bitlm bench` report: a pp test (n_prompt > 0) or a tg test (n_gen > 0).
struct BenchRow {
  int threads = 0;
  BenchOptions options;
  BenchResult result;
  double read_gbs = 0;  // the probe over probe_bytes_for(decode bytes) at these threads (tg rows)
  std::string name() const;  // "pp128", "tg64", "pp128 @ d512" (llama-bench's)
};

struct BenchModelInfo {
  std::string path, arch, isa, kv_type;
  uint64_t file_bytes = 0;
};

std::string bench_markdown(const BenchModelInfo& info, const std::vector<BenchRow>& rows, uint64_t process_peak_rss);
// An array of objects, one per row: llama-bench's fields (model_filename, model_type, model_size,
// model_n_params, n_threads, n_prompt, n_gen, n_depth, avg_ts, stddev_ts, samples_ts, samples_ns,
// ...) plus bitlm's (median_ts, min_ts, max_ts, isa, kv_type, bits_per_weight, peak_rss_bytes,
// decode_bytes_per_token, read_gbs, bandwidth_share).
std::string bench_json(const BenchModelInfo& info, const std::vector<BenchRow>& rows);
std::string bench_jsonl(const BenchModelInfo& info, const std::vector<BenchRow>& rows);  // one object a line
std::string bench_csv(const BenchModelInfo& info, const std::vector<BenchRow>& rows);

}  // namespace bitlm
