// model/weights.cpp — tensor loading and validation (see weights.h).
// Ternary tensors run in the packed layout quant/packed_layout.h's load_layout picks for this
// machine: a file already in it is copied as stored; every other type is decoded by
// quant/ternary_formats.h and repacked, float tensors included (already ternary, {-s, 0, +s}: s kept exactly, as
// llama.cpp's bitnet converter writes them; or latent weights, absmean-quantized, 003 eq. 3-5) --
// unless the file says it is an fp model (weight_mode "fp"), whose float linear weights are kept
// as they are.
#include "model/weights.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/fp16.h"
#include "core/ggml_types.h"
#include "io/gguf.h"
#include "io/mapped_file.h"
#include "quant/packed_layout.h"
#include "quant/quantize.h"
#include "quant/ternary_formats.h"

namespace bitlm {

namespace {

const GgufTensorInfo& require_tensor(const GgufFile& f, std::string_view name, std::vector<uint64_t> ne) {
  const GgufTensorInfo* t = f.find_tensor(name);
  if (!t) throw FormatError(f.path(), fmt::format("missing tensor '{}'", name));
  if (t->ne != ne)
    throw FormatError(f.path(), fmt::format("tensor '{}' has shape [{}], expected [{}] from the metadata", name,
                                            fmt::join(t->ne, ", "), fmt::join(ne, ", ")));
  return *t;
}

std::vector<float> float_values(const GgufFile& f, const GgufTensorInfo& t) {
  const auto data = f.tensor_data(t);
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  if (t.type == kGgmlF32) {
    std::memcpy(v.data(), data.data(), v.size() * 4);
    return v;
  }
  if (t.type != kGgmlF16 && t.type != kGgmlBF16)
    throw FormatError(f.path(), fmt::format("tensor '{}': type {} is not supported here (F32, F16, BF16)", t.name,
                                            ggml_type_name(t.type)));
  for (size_t i = 0; i < v.size(); ++i) {
    uint16_t h;
    std::memcpy(&h, data.data() + 2 * i, 2);
    v[i] = t.type == kGgmlF16 ? fp16_to_f32(h) : bf16_to_f32(h);
  }
  return v;
}

// `scratch` holds the decoded values of a repacked tensor; one for the whole model (see decode_ternary).
TernaryMatrix load_ternary(const GgufFile& f, std::string_view name, int64_t rows, int64_t cols,
                           DecodedTernary& scratch) {
  const GgufTensorInfo& t = require_tensor(f, name, {uint64_t(cols), uint64_t(rows)});
  const uint32_t layout = load_layout(t.type);
  if (t.type == layout) {  // already the layout this machine runs: copied as stored, no decode and re-pack
    TernaryMatrix m = TernaryMatrix::copy_native(t.type, f.tensor_data(t), rows, cols, f.path(), t.name);
    release_mapped_pages(f.tensor_data(t));  // copied: not held twice
    return m;
  }
  const float scale = decode_ternary(f.path(), t.name, t.type, f.tensor_data(t), rows, cols, scratch);
  TernaryMatrix m = TernaryMatrix::pack(scratch.q, rows, cols, {&scale, 1}, layout);
  release_mapped_pages(f.tensor_data(t));  // copied: not held twice
  return m;
}

// A matrix read whole for every token (a head, an fp model's linear layer): copied into huge pages,
// and the file's pages dropped so it is not resident twice.
DenseMatrix copy_dense(const GgufFile& f, const GgufTensorInfo& t, int64_t rows, int64_t cols) {
  DenseMatrix m = DenseMatrix::copy(t.type, f.tensor_data(t), rows, cols);
  release_mapped_pages(f.tensor_data(t));  // copied: not held twice
  return m;
}

// fp models: the file's F32/F16/BF16 weights, multiplied as they are (no quantizer).
DenseMatrix load_fp_linear(const GgufFile& f, std::string_view name, int64_t rows, int64_t cols) {
  const GgufTensorInfo& t = require_tensor(f, name, {uint64_t(cols), uint64_t(rows)});
  if (t.type != kGgmlF32 && t.type != kGgmlF16 && t.type != kGgmlBF16)
    throw FormatError(f.path(), fmt::format("tensor '{}': type {} in an fp model (weight_mode \"fp\" takes F32, "
                                            "F16, BF16)", name, ggml_type_name(t.type)));
  return copy_dense(f, t, rows, cols);
}

LinearWeights load_linear(const GgufFile& f, bool fp, std::string_view name, int64_t rows, int64_t cols,
                          DecodedTernary& scratch) {
  LinearWeights w;
  if (fp) w.dense = load_fp_linear(f, name, rows, cols);
  else w.ternary = load_ternary(f, name, rows, cols, scratch);
  return w;
}

std::vector<float> load_norm(const GgufFile& f, std::string_view name, int64_t n) {
  const GgufTensorInfo& t = require_tensor(f, name, {uint64_t(n)});
  std::vector<float> g = float_values(f, t);
  for (float v : g)
    if (!std::isfinite(v)) throw FormatError(f.path(), fmt::format("tensor '{}' holds a non-finite value", name));
  return g;
}

// An embedding or head. Streamed ones (heads) are copied; an untied embedding stays a view of the
// mmap, where only the rows of the tokens seen become resident.
DenseMatrix load_dense(const GgufFile& f, std::string_view name, int64_t rows, int64_t cols, bool streamed) {
  const GgufTensorInfo& t = require_tensor(f, name, {uint64_t(cols), uint64_t(rows)});
  if (!dense_type_supported(t.type))
    throw FormatError(f.path(), fmt::format("tensor '{}': type {} is not supported for embeddings and heads "
                                            "(F32, F16, BF16, Q8_0, Q6_K, Q4_0)", name, ggml_type_name(t.type)));
  return streamed ? copy_dense(f, t, rows, cols) : DenseMatrix::view(t.type, f.tensor_data(t).data(), rows, cols);
}

}  // namespace

ModelWeights ModelWeights::load(const GgufFile& f, const ModelConfig& c) {
  using enum TensorRole;
  const TensorTable& names = c.tensors();
  ModelWeights w;
  const int64_t D = c.n_embd;
  const std::string output = names.gguf_name(kOutput);
  w.tied_output = f.find_tensor(output) == nullptr;
  w.token_embd = load_dense(f, names.gguf_name(kTokenEmbd), c.n_vocab, D, w.tied_output);
  w.output = w.tied_output ? DenseMatrix::view(w.token_embd.type(), w.token_embd.row_data(0), c.n_vocab, D)
                           : load_dense(f, output, c.n_vocab, D, true);
  w.output_norm = load_norm(f, names.gguf_name(kOutputNorm), D);
  w.layers.resize(size_t(c.n_layer));
  DecodedTernary scratch;  // sized once for the largest linear tensor: no reallocation, no heap holes
  size_t largest = 0;
  for (const TensorRow& row : names.blocks)
    if (tensor_kind(row.role) != TensorKind::kNorm) {
      const TensorShape s = tensor_shape(row.role, c);
      largest = std::max(largest, size_t(s.rows * s.cols));
    }
  if (!c.fp_linear) scratch.q.reserve(largest);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    LayerWeights& L = w.layers[size_t(l)];
    for (const TensorRow& row : names.blocks) {
      const std::string name = names.gguf_name(row.role, l);
      const TensorShape s = tensor_shape(row.role, c);
      if (tensor_kind(row.role) == TensorKind::kNorm) *L.norm(row.role) = load_norm(f, name, s.cols);
      else *L.linear(row.role) = load_linear(f, c.fp_linear, name, s.rows, s.cols, scratch);
    }
    if (!c.elastic_act) continue;
    for (const TensorRow& row : names.blocks) {
      if (tensor_kind(row.role) != TensorKind::kLinear) continue;
      const std::string name = act_scale_name(act_scale_role(row.role), l);
      // a 1-value F32 tensor, checked finite like a norm; training clamps alpha to >= eps (an AdamW
      // step may take it below 0), and so does quantize_elastic_int8: the same scale here
      L.linear(row.role)->act_scale = std::max(load_norm(f, name, 1)[0], kQuantEps);
    }
  }
  return w;
}

std::vector<float>* LayerWeights::norm(TensorRole role) {
  switch (role) {
    case TensorRole::kAttnNorm: return &attn_norm;
    case TensorRole::kAttnSubNorm: return &attn_sub_norm;
    case TensorRole::kFfnNorm: return &ffn_norm;
    case TensorRole::kFfnSubNorm: return &ffn_sub_norm;
    default: BITLM_ASSERT(!"LayerWeights::norm: not a norm role");
  }
}

LinearWeights* LayerWeights::linear(TensorRole role) {
  switch (role) {
    case TensorRole::kAttnQ: return &wq;
    case TensorRole::kAttnK: return &wk;
    case TensorRole::kAttnV: return &wv;
    case TensorRole::kAttnOutput: return &wo;
    case TensorRole::kFfnGate: return &w_gate;
    case TensorRole::kFfnUp: return &w_up;
    case TensorRole::kFfnDown: return &w_down;
    default: BITLM_ASSERT(!"LayerWeights::linear: not a linear role");
  }
}

uint64_t ModelWeights::n_linear_params() const {
  uint64_t n = 0;
  for (const auto& L : layers)
    for (const LinearWeights* m : L.linears()) n += uint64_t(m->rows() * m->cols());
  return n;
}

uint64_t ModelWeights::n_linear_bytes() const {
  uint64_t n = 0;
  for (const auto& L : layers)
    for (const LinearWeights* m : L.linears()) n += m->n_bytes();
  return n;
}

uint64_t ModelWeights::n_norm_params() const {
  uint64_t n = output_norm.size();
  for (const auto& L : layers)
    n += L.attn_norm.size() + L.attn_sub_norm.size() + L.ffn_norm.size() + L.ffn_sub_norm.size();
  return n;
}

}  // namespace bitlm
