// train/export.cpp — see export.h.
#include "train/export.h"

#include <cstring>

#include "core/error.h"
#include "core/ggml_types.h"
#include "io/gguf.h"
#include "model/config.h"
#include "quant/packed_layout.h"
#include "quant/quantize.h"
#include "quant/ternary_formats.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/train_model.h"

namespace bitlm {
namespace {

std::vector<uint8_t> f32_bytes(std::span<const float> v) {
  std::vector<uint8_t> b(v.size_bytes());
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// The same quantizer as the training forward (bitlinear_quantize_weight), kept as integers.
std::vector<uint8_t> packed_ternary(WeightMode mode, uint32_t type, const std::string& name, std::span<const float> w,
                                    int64_t rows, int64_t cols) {
  std::vector<int8_t> q(w.size());
  const float beta = mode == WeightMode::kTernary ? quantize_absmean(w, q) : quantize_sign(w, q).beta;
  return encode_ternary(type, q, rows, cols, beta, fmt::format("tensor '{}'", name));
}

// fp models: the latent weights themselves, as the training forward multiplies them.
std::vector<uint8_t> float_rows(uint32_t type, std::span<const float> w, int64_t rows, int64_t cols) {
  const uint64_t row_bytes = dense_row_bytes(type, cols);
  std::vector<uint8_t> b(size_t(row_bytes * uint64_t(rows)));
  for (int64_t r = 0; r < rows; ++r) encode_dense_row(type, w.data() + r * cols, cols, b.data() + r * row_bytes);
  return b;
}

}  // namespace

void export_gguf(const TrainModel& model, const std::string& tokenizer_gguf, const std::string& out_path,
                 uint32_t fp_type, uint32_t weight_type) {
  const TrainModelConfig& c = model.config();
  const bool fp = c.weight_mode == WeightMode::kFp;
  // The inference formats hold one weight scale per tensor, and the forward one gamma per token.
  if (c.quant_groups != 1 && !fp)
    throw UserError(fmt::format("export: the model was trained with model.quant_groups = {} (a weight scale per row "
                                "group, an activation scale per column group: 003 App. A.1), which no inference "
                                "format bitlm writes holds; train with quant_groups 1 to export",
                                c.quant_groups));
  BITLM_CHECK(fp_type == kGgmlF16 || fp_type == kGgmlF32 || fp_type == kGgmlBF16,
              "fp linear weights are exported as F16, F32 or BF16 (ggml type {} asked)", fp_type);
  BITLM_CHECK(is_ternary_write_type(weight_type),
              "ternary weights are exported as a packed type (ggml type {} asked)", ggml_type_name(weight_type));
  ModelConfig mc = c.model_config();
  const bool for_peers = !fp && !find_packed_layout(weight_type);
  if (for_peers && c.elastic_act)
    throw UserError(fmt::format("export: the model has learned activation scales (model.act_quant \"elastic\"), "
                                "which no peer engine applies; export a bitlm weight type to run it"));
  if (for_peers) mc.use_peer_arch();
  GgufWriter w;
  mc.write_gguf(w);
  w.set("general.name", GgufValue::string(fmt::format("bitlm-trained {}", weight_mode_name(c.weight_mode))));
  if (!tokenizer_gguf.empty()) {
    const auto tok = GgufFile::open(tokenizer_gguf);
    const Vocab vocab = read_vocab(*tok);
    BITLM_CHECK(int64_t(vocab.tokens.size()) <= c.n_vocab, "{}: the tokenizer has {} tokens, the model only {}",
                tokenizer_gguf, vocab.tokens.size(), c.n_vocab);
    write_vocab(vocab, w);
  }
  const std::span<const float> params = model.params();
  for (const ParamTensor& t : model.tensors()) {
    const std::span<const float> p = params.subspan(t.offset, t.size());
    if (t.kind == TensorKind::kLinear && fp)
      w.add_tensor(t.name, {uint64_t(t.cols), uint64_t(t.rows)}, fp_type, float_rows(fp_type, p, t.rows, t.cols));
    else if (t.kind == TensorKind::kLinear)
      w.add_tensor(t.name, {uint64_t(t.cols), uint64_t(t.rows)}, weight_type,
                   packed_ternary(c.weight_mode, weight_type, t.name, p, t.rows, t.cols));
    else if (t.kind == TensorKind::kNorm || t.kind == TensorKind::kActScale)  // alpha: 1 value (tensor_table.h)
      w.add_tensor(t.name, {uint64_t(t.cols)}, kGgmlF32, f32_bytes(p));
    else
      w.add_tensor(t.name, {uint64_t(t.cols), uint64_t(t.rows)}, kGgmlF32, f32_bytes(p));
  }
  if (for_peers && mc.arch == "bitnet" && !c.tied_embedding)
    fmt::print(stderr, "bitlm: warning: {}: llama.cpp's bitnet arch ties the output head to token_embd and will "
                       "refuse this model's untied output.weight\n", out_path);
  w.write(out_path);
}

void export_checkpoint(const std::string& checkpoint, const std::string& tokenizer_gguf, const std::string& out_path,
                       uint32_t fp_type, uint32_t weight_type) {
  const TrainConfig cfg = checkpoint_config(checkpoint);
  TrainModel model(cfg.model);
  load_checkpoint_params(checkpoint, model);
  export_gguf(model, tokenizer_gguf.empty() ? cfg.tokenizer : tokenizer_gguf, out_path, fp_type, weight_type);
}

}  // namespace bitlm
