// eval/cost_report.h — the papers' inference-cost table (000 Table 1 / 003 Table 4: memory,
// latency per output token; 003 Table 7: max batch and throughput at a memory budget; 003 Table 2:
// arithmetic energy) measured on a GGUF with the model runtime, and the memory / latency versus
// model size plot of 003 Figure 8 as SVG.
//   weights  = the file's tensor bytes (what is mapped and read per decoded token);
//   memory   = resident set growth from before load to after the measurement (weights touched,
//              KV cache, scratch);
//   latency  = median decode time per token (greedy, after a random-token prompt);
//   max batch = (budget - weights) / f16 KV bytes of one sequence (Table 7 uses 512 tokens);
//   batch throughput = min(batch / latency, prefill tokens/s): decoding B sequences at once reads
//              the weights once per step like prefill does, so prefill throughput bounds it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "eval/cost_model.h"
#include "model/model.h"

namespace bitlm {

struct CostOptions {
  int64_t n_prompt = 128, n_generate = 32, repetitions = 3;
  int64_t batch_seq_len = 512;               // 003 Table 7
  uint64_t budget_bytes = 160ull << 30;      // 003 Table 7: two 80 GB A100s
  int64_t energy_tokens = 512;               // 003 Table 2
};

struct ModelCost {
  std::string name;
  TransformerShape shape;
  WeightKind kind = WeightKind::kBitnet;
  double linear_bits_per_weight = 0;  // as stored (TQ2_0: 2.06, T2: 2.0, F16: 16)
  uint64_t weight_bytes = 0, linear_bytes = 0, kv_bytes_per_sequence = 0, memory_bytes = 0;
  double ms_per_token = 0, prompt_tokens_per_s = 0;
  int64_t max_batch = 0;
  double batch_tokens_per_s = 0;
  EnergyJ energy_7nm, energy_45nm;
};

TransformerShape shape_of(const ModelConfig& c, const std::string& name);
// The kind of the BitLinear weights: ternary / 1-bit types -> kBitnet, F32, else kFp16.
WeightKind weight_kind_of(const GgufFile& file);

// Loads `path`, measures it and frees it again (so a second model's memory is its own).
ModelCost measure_cost(const std::string& path, ThreadPool& pool, const CostOptions& options);

// Rows in order, the first (the baseline when there is one) as 1.00x.
std::string cost_report_markdown(const std::vector<ModelCost>& rows, const CostOptions& options);

// Memory (GiB) and latency (ms/token) versus parameters for the b1.58 paper's shapes (003
// Tables 12 and 10, LLaMA 7B-70B) at 1.58-bit (2 bits stored) and FP16 weights, latency scaled from
// the bytes-per-second measured on the largest of `measured` (decode reads every weight once),
// with the measured models as points.
std::string size_plot_svg(const std::vector<ModelCost>& measured);

}  // namespace bitlm
