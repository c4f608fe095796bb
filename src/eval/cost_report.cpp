// eval/cost_report.cpp — measured cost table and the size plot (see cost_report.h).
#include "eval/cost_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/rng.h"
#include "core/sys.h"
#include "core/ggml_types.h"
#include "eval/svg_plot.h"
#include "model/forward.h"
#include "model/generate.h"

namespace bitlm {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

bool is_linear_weight(const GgufTensorInfo& t) { return t.name.starts_with("blk.") && t.ne.size() == 2; }

bool is_low_bit(uint32_t type) {
  const GgmlTypeTraits* t = ggml_type_traits(type);
  return t && t->ternary;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Decode ms/token and prefill tokens/s, medians over the repetitions (greedy, never stopping).
void measure_speed(Forward& fwd, int64_t n_vocab, const CostOptions& o, ModelCost& c) {
  const int64_t n_prompt = std::min(o.n_prompt, fwd.n_ctx() / 2);
  const int64_t n_generate = std::max<int64_t>(2, std::min(o.n_generate, fwd.n_ctx() - n_prompt));
  Rng rng(7);
  std::vector<int32_t> prompt(static_cast<size_t>(n_prompt));
  for (int32_t& id : prompt) id = int32_t(rng.below(uint64_t(n_vocab)));
  const SamplerParams greedy{.temperature = 0};
  std::vector<double> ms, tps;
  for (int64_t r = 0; r < o.repetitions; ++r) {
    fwd.kv().clear();
    const GenerateStats s = generate_tokens(fwd, prompt, n_generate, greedy, [](int32_t) { return false; },
                                            [](int32_t) { return true; });
    ms.push_back(1e3 / s.generate_tokens_per_s());
    tps.push_back(s.prompt_tokens_per_s());
  }
  c.ms_per_token = median(ms);
  c.prompt_tokens_per_s = median(tps);
}

}  // namespace

TransformerShape shape_of(const ModelConfig& m, const std::string& name) {
  return {name, m.n_embd, m.n_ff, m.n_layer, m.n_head, m.n_head_kv, m.head_dim, m.n_vocab, /*glu=*/true};
}

WeightKind weight_kind_of(const GgufFile& file) {
  for (const GgufTensorInfo& t : file.tensors()) {
    if (!is_linear_weight(t)) continue;
    if (is_low_bit(t.type)) return WeightKind::kBitnet;
    return t.type == kGgmlF32 ? WeightKind::kFp32 : WeightKind::kFp16;
  }
  return WeightKind::kFp16;
}

ModelCost measure_cost(const std::string& path, ThreadPool& pool, const CostOptions& o) {
  const uint64_t rss0 = current_rss_bytes();
  ModelCost c;
  {
    const auto model = Model::load(path);
    c.name = std::filesystem::path(path).filename().string();
    c.shape = shape_of(model->config, c.name);
    c.kind = weight_kind_of(*model->file);
    uint64_t linear_params = 0;
    for (const GgufTensorInfo& t : model->file->tensors()) {
      c.weight_bytes += t.n_bytes;
      if (!is_linear_weight(t)) continue;
      c.linear_bytes += t.n_bytes;
      linear_params += t.n_elements();
    }
    c.linear_bits_per_weight = linear_params ? 8.0 * double(c.linear_bytes) / double(linear_params) : 0;
    c.kv_bytes_per_sequence = kv_bytes_per_sequence(c.shape, o.batch_seq_len);
    Forward fwd(*model, model->config.n_ctx_train, pool, ActMode::kInt8, kPromptStep);
    measure_speed(fwd, model->config.n_vocab, o, c);
    c.memory_bytes = current_rss_bytes() - std::min(rss0, current_rss_bytes());
  }
  c.max_batch = max_batch(o.budget_bytes, c.weight_bytes, c.kv_bytes_per_sequence);
  c.batch_tokens_per_s = std::min(double(c.max_batch) * 1e3 / c.ms_per_token, c.prompt_tokens_per_s);
  c.energy_7nm = matmul_energy(c.shape, o.energy_tokens, c.kind, ProcessNode::k7nm);
  c.energy_45nm = matmul_energy(c.shape, o.energy_tokens, c.kind, ProcessNode::k45nm);
  return c;
}

std::string cost_report_markdown(const std::vector<ModelCost>& rows, const CostOptions& o) {
  if (rows.empty()) return "";
  const ModelCost& base = rows.front();
  // "value (ratio x)" where ratio says how many times better than the first row.
  const auto less_is_better = [](double v, double b) { return fmt::format("({:.2f}x)", v > 0 ? b / v : 0.0); };
  const auto more_is_better = [](double v, double b) { return fmt::format("({:.2f}x)", b > 0 ? v / b : 0.0); };
  std::string s = fmt::format(
      "| Model | weights | linear bpw | weights (MiB) | memory (MiB) | latency (ms/token) | prompt (tokens/s) | "
      "max batch @ {:.0f} GiB, {} tokens | throughput (tokens/s) | energy 7 nm (J) | energy 45 nm (J) |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
      double(o.budget_bytes) / kGiB, o.batch_seq_len);
  for (const ModelCost& c : rows) {
    s += fmt::format("| {} | {} | {:.2f} | {:.1f} {} | {:.1f} {} | {:.2f} {} | {:.1f} {} | {} {} | {:.0f} {} | {:.3g} {} | {:.3g} {} |\n",
                     c.name, c.kind == WeightKind::kBitnet ? "ternary" : fmt::format("FP{}", weight_kind_name(c.kind)),
                     c.linear_bits_per_weight,
                     double(c.weight_bytes) / (1 << 20), less_is_better(double(c.weight_bytes), double(base.weight_bytes)),
                     double(c.memory_bytes) / (1 << 20), less_is_better(double(c.memory_bytes), double(base.memory_bytes)),
                     c.ms_per_token, less_is_better(c.ms_per_token, base.ms_per_token),
                     c.prompt_tokens_per_s, more_is_better(c.prompt_tokens_per_s, base.prompt_tokens_per_s),
                     c.max_batch, more_is_better(double(c.max_batch), double(base.max_batch)),
                     c.batch_tokens_per_s, more_is_better(c.batch_tokens_per_s, base.batch_tokens_per_s),
                     c.energy_7nm.total(), less_is_better(c.energy_7nm.total(), base.energy_7nm.total()),
                     c.energy_45nm.total(), less_is_better(c.energy_45nm.total(), base.energy_45nm.total()));
  }
  s += fmt::format(
      "\nmemory: resident-set growth while loading and running the model; latency: median decode time per token "
      "(greedy, {}-token random prompt); throughput: min(max batch / latency, prompt tokens/s); energy: 003 eq. 10-12 "
      "with Table 1 per-op energies for the linear layers and FP16 attention over {} tokens (docs/evaluation.md).\n",
      o.n_prompt, o.energy_tokens);
  return s;
}

namespace {

// The paper's shapes (003 Table 12; LLaMA 7B / 13B / 70B for Figure 8), vocab 32000, SwiGLU.
std::vector<TransformerShape> figure8_shapes() {
  return {{"700M", 1536, 4096, 24, 24, 24, 0, 32000, true},   {"1.3B", 2048, 5460, 24, 32, 32, 0, 32000, true},
          {"3B", 3200, 8640, 26, 32, 32, 0, 32000, true},     {"3.9B", 3200, 12800, 26, 32, 32, 0, 32000, true},
          {"7B", 4096, 11008, 32, 32, 32, 0, 32000, true},    {"13B", 5120, 13824, 40, 40, 40, 0, 32000, true},
          {"70B", 8192, 28672, 80, 64, 8, 0, 32000, true}};
}

double n_params(const TransformerShape& s) { return double(s.n_linear_params()) + 2.0 * double(s.n_vocab * s.n_embd); }

}  // namespace

std::string size_plot_svg(const std::vector<ModelCost>& measured) {
  // Decode bandwidth (weight bytes read per second) of the largest measured model: small ones sit
  // in cache and would extrapolate too fast a memory.
  double bytes_per_s = 0;
  uint64_t largest = 0;
  for (const ModelCost& c : measured)
    if (c.ms_per_token > 0 && c.weight_bytes > largest) {
      largest = c.weight_bytes;
      bytes_per_s = double(c.weight_bytes) / (c.ms_per_token * 1e-3);
    }
  PlotSeries mem_b{"BitNet b1.58 (2-bit storage)", "#1f77b4", {}}, mem_f{"FP16", "#d62728", {}};
  PlotSeries lat_b = mem_b, lat_f = mem_f;
  for (const TransformerShape& s : figure8_shapes()) {
    const double p = n_params(s);
    const double b = double(weight_bytes(s, 2.0, false)), f = double(weight_bytes(s, 16.0, false));
    const double kv = double(kv_bytes_per_sequence(s, 2048));
    mem_b.xy.push_back({p, (b + kv) / kGiB});
    mem_f.xy.push_back({p, (f + kv) / kGiB});
    if (bytes_per_s > 0) {
      lat_b.xy.push_back({p, b / bytes_per_s * 1e3});
      lat_f.xy.push_back({p, f / bytes_per_s * 1e3});
    }
  }
  PlotSeries mem_m{"measured (this machine)", "#2ca02c", {}, true}, lat_m = mem_m;
  for (const ModelCost& c : measured) {
    const double p = double(c.shape.n_linear_params()) + 2.0 * double(c.shape.n_vocab * c.shape.n_embd);
    mem_m.xy.push_back({p, double(c.memory_bytes) / kGiB});
    lat_m.xy.push_back({p, c.ms_per_token});
  }
  const PlotPanel latency{fmt::format("Decoding latency (at {:.1f} GB/s, measured)", bytes_per_s / 1e9), "parameters",
                          "ms / token"};
  PlotPanel memory{"Memory (weights + f16 KV at 2048)", "parameters", "GiB"};
  memory.x0 = 560;
  return svg_document(960, 420, svg_panel(latency, {lat_b, lat_f, lat_m}) + svg_panel(memory, {mem_b, mem_f, mem_m}));
}

}  // namespace bitlm
