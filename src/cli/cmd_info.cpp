// cli/cmd_info.cpp — `bitlm info`: architecture, shapes, parameter count, bits per weight, file
// size and resident memory after load.
#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/ggml_types.h"
#include "core/sys.h"
#include "io/gguf.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/tensor_table.h"

namespace bitlm::cli {
namespace {

// "TQ2_0 x168, F32 x2": counts per type, in id order.
std::string type_counts(const std::map<uint32_t, int>& counts) {
  std::string out;
  for (const auto& [type, n] : counts) out += fmt::format("{}{} x{}", out.empty() ? "" : ", ", ggml_type_name(type), n);
  return out.empty() ? "none" : out;
}

// The file's tensor types by kind (model/tensor_table.h), and what each became in memory: ternary
// linears are repacked at load into a native layout (quant/matrix.h) whatever their file type; an
// fp model's linears, the embedding and the head keep their file type (dense copies or mmap views);
// norms become f32.
void print_tensor_types(const GgufFile& file, const ModelConfig& c, const ModelWeights& w) {
  const TensorTable& names = c.tensors();
  std::map<uint32_t, int> file_types[int(TensorKind::kHead) + 1], linear_memory;  // file types by TensorKind
  const auto count = [&](TensorRole role, int64_t block) {
    if (const GgufTensorInfo* t = file.find_tensor(names.gguf_name(role, block)))
      ++file_types[int(tensor_kind(role))][t->type];
  };
  for (const TensorRow& row : names.model) count(row.role, -1);
  for (int64_t l = 0; l < c.n_layer; ++l)
    for (const TensorRow& row : names.blocks) count(row.role, l);
  for (const LayerWeights& L : w.layers)
    for (const LinearWeights* m : L.linears()) ++linear_memory[m->is_fp() ? m->dense.type() : m->ternary.layout().type];
  const auto& linear = file_types[int(TensorKind::kLinear)];
  fmt::print("tensor types    file -> in memory\n");
  fmt::print("  linear        {} -> {}{}\n", type_counts(linear), type_counts(linear_memory),
             linear == linear_memory ? " (as stored)" : " (repacked at load)");
  fmt::print("  embedding     {} -> {}\n", type_counts(file_types[int(TensorKind::kEmbedding)]),
             ggml_type_name(w.token_embd.type()));
  if (w.tied_output)
    fmt::print("  output head   tied to the embedding\n");
  else
    fmt::print("  output head   {} -> {}\n", type_counts(file_types[int(TensorKind::kHead)]), ggml_type_name(w.output.type()));
  fmt::print("  norms         {} -> F32\n", type_counts(file_types[int(TensorKind::kNorm)]));
}

void run_info(const std::string& path) {
  const auto m = Model::load(path);
  const ModelConfig& c = m->config;
  const ModelWeights& w = m->weights;
  const uint64_t n_linear = w.n_linear_params();
  const char* linear_kind = c.fp_linear ? "fp" : "ternary";
  const uint64_t n_embd = uint64_t(w.token_embd.rows() * w.token_embd.cols());
  const uint64_t n_head = w.tied_output ? 0 : uint64_t(w.output.rows() * w.output.cols());
  const uint64_t n_norm = w.n_norm_params();
  const uint64_t n_params = n_linear + n_embd + n_head + n_norm;
  fmt::print("file            {}\n", path);
  fmt::print("architecture    {} (FFN {}, RoPE {}, sub-norms {})\n", c.arch, activation_name(c.activation),
             c.rope_neox ? "neox" : "adjacent", c.sub_norms ? "yes" : "no");
  fmt::print("shape           D {} | F {} | layers {} | heads {} / kv {} | head dim {} | vocab {} | ctx {}\n",
             c.n_embd, c.n_ff, c.n_layer, c.n_head, c.n_head_kv, c.head_dim, c.n_vocab, c.n_ctx_train);
  fmt::print("rope theta      {} | rms eps {}\n", c.rope_theta, c.rms_eps);
  fmt::print("linear weights  {}\n", c.fp_linear ? "fp (full precision, no quantizer)" : "ternary");
  fmt::print("parameters      {:.3f} M ({:.3f} M {}, {:.3f} M embedding{})\n", n_params / 1e6,
             n_linear / 1e6, linear_kind, n_embd / 1e6, w.tied_output ? ", tied head" : fmt::format(", {:.3f} M head", n_head / 1e6));
  fmt::print("bits per weight {:.4f} file / all parameters, {:.4f} {} linear weights in memory\n",
             8.0 * double(m->file->file_size()) / double(n_params),
             n_linear ? 8.0 * double(w.n_linear_bytes()) / double(n_linear) : 0.0, linear_kind);
  fmt::print("file size       {:.2f} MiB\n", double(m->file->file_size()) / (1 << 20));
  fmt::print("resident memory {:.2f} MiB after load\n", double(current_rss_bytes()) / (1 << 20));
  std::string kv;  // K and V, every layer, the training context
  for (KvCacheType t : {KvCacheType::kF16, KvCacheType::kQ8, KvCacheType::kQ4}) {
    const int64_t row = KvCache::row_bytes_for(t, c.kv_dim(), c.head_dim);
    kv += fmt::format("{}{} {:.2f} MiB", kv.empty() ? "" : " | ", kv_type_name(t),
                      double(2 * c.n_layer * c.n_ctx_train * row) / (1 << 20));
  }
  fmt::print("kv cache        {} at ctx {} (--kv-type)\n", kv, c.n_ctx_train);
  print_tensor_types(*m->file, c, w);
}

void setup(CLI::App& root) {
  auto path = std::make_shared<std::string>();
  CLI::App* c = root.add_subcommand("info", "show a model's architecture, shapes and size");
  c->add_option("-m,--model", *path, "model GGUF file")->required();
  c->callback([path] { run_info(*path); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
