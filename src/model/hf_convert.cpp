// model/hf_convert.cpp — see hf_convert.h.
#include "model/hf_convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/fp16.h"
#include "core/ggml_types.h"
#include "io/gguf.h"
#include "io/json_file.h"
#include "io/mapped_file.h"
#include "io/safetensors.h"
#include "quant/kernels.h"
#include "quant/quantize.h"
#include "quant/ternary_formats.h"
#include "tokenizer/hf_tokenizer.h"

namespace bitlm {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using enum TensorRole;

struct Family {
  std::string arch;               // bitlm's arch
  std::string attn_sub, ffn_sub;  // Hugging Face names of the sub-norms (empty: the family has none)
  bool scale_multiplies;          // packed weights: W = codes * weight_scale (else codes / weight_scale)
  bool permute_qk;                // llama arch: q/k rows to adjacent-pair RoPE order
  std::string label;
};

Family detect_family(const json& c, const std::string& path) {
  std::string arch;
  if (c.contains("architectures") && c["architectures"].is_array() && !c["architectures"].empty() &&
      c["architectures"][0].is_string())
    arch = c["architectures"][0].get<std::string>();
  const std::string model_type = c.value("model_type", "");
  const json* q = nullptr;
  if (c.contains("quantization_config") && !c["quantization_config"].is_null()) {
    if (!c["quantization_config"].is_object()) throw FormatError(path, "quantization_config is not an object");
    q = &c["quantization_config"];
    const std::string method = q->value("quant_method", "");
    if (method != "bitnet")
      throw FormatError(path, fmt::format("quantization_config.quant_method '{}' is not supported (supported: bitnet)",
                                          method));
  }
  const std::string linear_class = q ? q->value("linear_class", "") : "";
  if (!linear_class.empty() && linear_class != "bitlinear" && linear_class != "autobitlinear")
    throw FormatError(path, fmt::format("quantization_config.linear_class '{}' is not supported (bitlinear, "
                                        "autobitlinear)", linear_class));
  // 2B-4T's weight_scale multiplies (its first configs named no linear_class; dividing gives weights
  // 2.4x too small, FORMATS.md 2a); quant_method bitnet's default BitLinear divides (2b, 2d).
  if (arch == "BitNetForCausalLM")  // hf_tensor_name_bitnet's names
    return {"bitnet-b1.58", "self_attn.attn_sub_norm", "mlp.ffn_sub_norm", linear_class != "bitlinear", false,
            "BitNetForCausalLM (2B-4T layout) -> bitnet-b1.58"};
  if (arch == "BitnetForCausalLM")
    return {"bitnet", "self_attn.inner_attn_ln", "mlp.ffn_layernorm", linear_class == "autobitlinear", false,
            "BitnetForCausalLM (1bitLLM layout) -> bitnet"};
  if (arch == "LlamaForCausalLM") {
    if (!q)
      throw FormatError(path, "LlamaForCausalLM without a bitnet quantization_config is not a ternary model");
    return {"llama", "", "", linear_class == "autobitlinear", true,
            "LlamaForCausalLM with quant_method bitnet -> llama"};
  }
  throw FormatError(path, fmt::format("architecture '{}' (model_type '{}') is not supported (supported: "
                                      "BitNetForCausalLM, BitnetForCausalLM, LlamaForCausalLM with quant_method "
                                      "bitnet)", arch, model_type));
}

int64_t get_dim(const json& c, const std::string& path, const char* key, std::optional<int64_t> fallback = {}) {
  const auto it = c.find(key);
  if (it == c.end() || it->is_null()) {
    if (fallback) return *fallback;
    throw FormatError(path, fmt::format("missing '{}'", key));
  }
  if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > (int64_t(1) << 24))
    throw FormatError(path, fmt::format("'{}' = {} is not a positive integer", key, it->dump()));
  return it->get<int64_t>();
}

double get_number(const json& c, const std::string& path, const char* key, double fallback) {
  const auto it = c.find(key);
  if (it == c.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw FormatError(path, fmt::format("'{}' = {} is not a number", key, it->dump()));
  return it->get<double>();
}

ModelConfig read_config(const json& c, const std::string& path, const Family& fam) {
  ModelConfig m;
  m.set_arch(fam.arch);
  m.n_embd = get_dim(c, path, "hidden_size");
  m.n_ff = get_dim(c, path, "intermediate_size");
  m.n_layer = get_dim(c, path, "num_hidden_layers");
  m.n_head = get_dim(c, path, "num_attention_heads");
  m.n_head_kv = get_dim(c, path, "num_key_value_heads", m.n_head);
  m.n_vocab = get_dim(c, path, "vocab_size");
  m.n_ctx_train = get_dim(c, path, "max_position_embeddings", 2048);
  if ((!c.contains("head_dim") || c["head_dim"].is_null()) && m.n_embd % m.n_head != 0)
    throw FormatError(path, fmt::format("num_attention_heads = {} does not divide hidden_size = {}", m.n_head, m.n_embd));
  // Falcon3-1.58bit states head_dim (256), which need not be hidden_size / num_attention_heads.
  m.head_dim = get_dim(c, path, "head_dim", m.n_embd / m.n_head);
  if (m.head_dim % 2 != 0) throw FormatError(path, fmt::format("head_dim = {} is odd", m.head_dim));
  if (m.n_head % m.n_head_kv != 0)
    throw FormatError(path, fmt::format("num_key_value_heads = {} does not divide num_attention_heads = {}",
                                        m.n_head_kv, m.n_head));
  const double eps = get_number(c, path, "rms_norm_eps", 1e-6);
  if (!(eps > 0 && eps < 1)) throw FormatError(path, fmt::format("rms_norm_eps = {} is out of range (0, 1)", eps));
  m.rms_eps = float(eps);
  const double theta = get_number(c, path, "rope_theta", 10000.0);
  if (!(theta > 1 && theta < 1e12)) throw FormatError(path, fmt::format("rope_theta = {} is out of range", theta));
  m.rope_theta = float(theta);
  const std::string act = c.value("hidden_act", fam.arch == "bitnet-b1.58" ? "relu2" : "silu");
  if (act == "relu2") m.activation = FfnActivation::kRelu2;
  else if (act == "silu" || act == "swish") m.activation = FfnActivation::kSilu;
  else throw FormatError(path, fmt::format("hidden_act '{}' is not supported (relu2, silu)", act));
  if (c.contains("rope_scaling") && !c["rope_scaling"].is_null())
    throw FormatError(path, fmt::format("rope_scaling {} is not supported", c["rope_scaling"].dump()));
  for (const char* bias : {"attention_bias", "mlp_bias"})
    if (c.value(bias, false)) throw FormatError(path, fmt::format("'{}' = true is not supported (no biases)", bias));
  return m;
}

// The Hugging Face name of a tensor-table role.
std::string hf_name(TensorRole role, int64_t l, const Family& f) {
  const std::string p = fmt::format("model.layers.{}.", l);
  switch (role) {
    case kTokenEmbd: return "model.embed_tokens.weight";
    case kOutputNorm: return "model.norm.weight";
    case kOutput: return "lm_head.weight";
    case kAttnNorm: return p + "input_layernorm.weight";
    case kAttnQ: return p + "self_attn.q_proj.weight";
    case kAttnK: return p + "self_attn.k_proj.weight";
    case kAttnV: return p + "self_attn.v_proj.weight";
    case kAttnSubNorm: return p + f.attn_sub + ".weight";
    case kAttnOutput: return p + "self_attn.o_proj.weight";
    case kFfnNorm: return p + "post_attention_layernorm.weight";
    case kFfnGate: return p + "mlp.gate_proj.weight";
    case kFfnUp: return p + "mlp.up_proj.weight";
    case kFfnSubNorm: return p + f.ffn_sub + ".weight";
    case kFfnDown: return p + "mlp.down_proj.weight";
    default: break;  // an elastic model's activation scales: no Hugging Face name
  }
  BITLM_ASSERT(!"hf_name: unknown role");
}

bool is_float(SafetensorsDtype d) {
  return d == SafetensorsDtype::kF32 || d == SafetensorsDtype::kF16 || d == SafetensorsDtype::kBF16;
}

uint32_t ggml_float_type(SafetensorsDtype d) {
  return d == SafetensorsDtype::kF32 ? kGgmlF32 : d == SafetensorsDtype::kF16 ? kGgmlF16 : kGgmlBF16;
}

void to_f32(const SafetensorsTensor& t, uint64_t first, uint64_t n, float* out) {
  const uint8_t* p = t.bytes.data();
  for (uint64_t i = 0; i < n; ++i) {
    if (t.dtype == SafetensorsDtype::kF32) {
      std::memcpy(&out[i], p + 4 * (first + i), 4);
    } else {
      uint16_t h;
      std::memcpy(&h, p + 2 * (first + i), 2);
      out[i] = t.dtype == SafetensorsDtype::kF16 ? fp16_to_f32(h) : bf16_to_f32(h);
    }
  }
}

class Converter {
 public:
  Converter(const std::string& dir, const ConvertOptions& o) : dir_(dir), o_(o), st_(SafetensorsSet::open_dir(dir)) {
    config_path_ = (fs::path(dir) / "config.json").string();
    const json c = read_json_file(config_path_);
    if (!c.is_object()) throw FormatError(config_path_, "not a JSON object");
    fam_ = detect_family(c, config_path_);
    cfg_ = read_config(c, config_path_, fam_);
    tied_ = c.value("tie_word_embeddings", fam_.arch != "llama");
    weight_type_ = o.weight_type ? o.weight_type : best_kernels().fastest_layout;  // auto: runs as stored here
    BITLM_CHECK(is_ternary_write_type(weight_type_), "convert: weight type {} is not a packed ternary type",
                ggml_type_name(weight_type_));
    cfg_.prepare_ternary_write(weight_type_, fmt::format("convert: {}", dir));
  }

  ConvertResult run(const std::string& out_path) {
    HfTokenizer tok = read_hf_tokenizer(dir_);
    Vocab& v = tok.vocab;
    if (int64_t(v.tokens.size()) > cfg_.n_vocab)
      throw FormatError(config_path_, fmt::format("vocab_size = {} is smaller than the tokenizer's {} tokens",
                                                  cfg_.n_vocab, v.tokens.size()));
    if (v.types.empty()) v.types.assign(v.tokens.size(), int32_t(TokenType::kNormal));
    if (!v.scores.empty()) v.scores.resize(size_t(cfg_.n_vocab), 0.0f);
    while (int64_t(v.tokens.size()) < cfg_.n_vocab) {  // embedding rows past the tokenizer (padding), as llama.cpp
      v.tokens.push_back(fmt::format("[PAD{}]", v.tokens.size()));
      v.types.push_back(int32_t(TokenType::kUnused));
    }

    GgufWriter w;
    cfg_.write_gguf(w);
    fs::path name = fs::path(dir_).lexically_normal();
    if (name.filename().empty()) name = name.parent_path();
    w.set("general.name", GgufValue::string(name.filename().string()));
    write_vocab(v, w);
    if (!tok.chat_template.empty()) w.set("tokenizer.chat_template", GgufValue::string(tok.chat_template));

    const TensorTable& names = cfg_.tensors();
    add_dense(w, names.gguf_name(kTokenEmbd), hf_name(kTokenEmbd, -1, fam_));
    add_norm(w, names.gguf_name(kOutputNorm), hf_name(kOutputNorm, -1, fam_), cfg_.n_embd);
    if (!tied_) {
      if (!st_.find(hf_name(kOutput, -1, fam_)))
        throw FormatError(st_.source(), "missing tensor 'lm_head.weight' (config.json: tie_word_embeddings is false)");
      add_dense(w, names.gguf_name(kOutput), hf_name(kOutput, -1, fam_));
    } else if (st_.find("lm_head.weight")) {
      used_.insert("lm_head.weight");  // a tied head stored anyway: the embedding is what runs
    }
    for (int64_t l = 0; l < cfg_.n_layer; ++l)
      for (const TensorRow& row : names.blocks) {
        const TensorShape s = tensor_shape(row.role, cfg_);
        const std::string gguf = names.gguf_name(row.role, l), hf = hf_name(row.role, l, fam_);
        if (tensor_kind(row.role) == TensorKind::kNorm) add_norm(w, gguf, hf, s.cols);
        else add_linear(w, gguf, hf, s.rows, s.cols, fam_.permute_qk && row.role == kAttnQ ? cfg_.n_head
                                                    : fam_.permute_qk && row.role == kAttnK ? cfg_.n_head_kv : 0);
      }
    for (const std::string& n : st_.names())
      if (!used_.contains(n) && !n.ends_with("rotary_emb.inv_freq"))
        throw FormatError(st_.file_of(n), fmt::format("tensor '{}' is not part of a {} model with this config.json",
                                                       n, fam_.arch));
    total_ = n_tensors_;
    w.write(out_path);
    return {cfg_, fam_.label, n_tensors_};
  }

 private:
  const SafetensorsTensor& expect(const std::string& name, std::vector<uint64_t> shape, std::string_view note = "") {
    const SafetensorsTensor* t = st_.find(name);
    if (!t) throw FormatError(st_.source(), fmt::format("missing tensor '{}'", name));
    if (t->shape != shape)
      throw FormatError(st_.file_of(name), fmt::format("tensor '{}' has shape [{}], config.json says [{}]{}", name,
                                                       fmt::join(t->shape, ", "), fmt::join(shape, ", "), note));
    used_.insert(name);
    return *t;
  }

  void require_float(const std::string& name, const SafetensorsTensor& t) const {
    if (!is_float(t.dtype))
      throw FormatError(st_.file_of(name), fmt::format("tensor '{}': dtype {} is not supported here (F32, F16, BF16)",
                                                       name, safetensors_dtype_name(t.dtype)));
  }

  void done() {
    ++done_;
    if (o_.progress) o_.progress(done_, total_);
  }

  void add_norm(GgufWriter& w, const std::string& gguf, const std::string& hf, int64_t n) {
    const SafetensorsTensor& t = expect(hf, {uint64_t(n)});
    require_float(hf, t);
    ++n_tensors_;
    w.add_tensor(gguf, {uint64_t(n)}, kGgmlF32, [this, &t, hf, n] {
      std::vector<uint8_t> out(size_t(n) * 4);
      std::vector<float> g(static_cast<size_t>(n));
      to_f32(t, 0, uint64_t(n), g.data());
      for (float x : g)
        if (!std::isfinite(x)) throw FormatError(st_.file_of(hf), fmt::format("tensor '{}' holds a non-finite value", hf));
      std::memcpy(out.data(), g.data(), out.size());
      done();
      return out;
    });
  }

  // The embedding or an untied head: the stored dtype, or --embd-type (re-encoded row by row).
  void add_dense(GgufWriter& w, const std::string& gguf, const std::string& hf) {
    const SafetensorsTensor& t = expect(hf, {uint64_t(cfg_.n_vocab), uint64_t(cfg_.n_embd)});
    require_float(hf, t);
    const uint32_t src = ggml_float_type(t.dtype);
    const uint32_t type = o_.embd_type ? o_.embd_type : src;
    const int64_t rows = cfg_.n_vocab, cols = cfg_.n_embd;
    const uint64_t row_bytes = dense_row_bytes(type, cols);  // UserError when cols does not fit the type
    ++n_tensors_;
    w.add_tensor(gguf, {uint64_t(cols), uint64_t(rows)}, type, [this, &t, type, src, rows, cols, row_bytes] {
      std::vector<uint8_t> out(size_t(row_bytes * uint64_t(rows)));
      std::vector<float> row(static_cast<size_t>(cols));
      const uint64_t src_row_bytes = t.bytes.size() / uint64_t(rows);
      constexpr int64_t kChunk = 4096;  // rows between page releases: a 128k-row table is never resident whole
      for (int64_t r0 = 0; r0 < rows; r0 += kChunk) {
        const int64_t r1 = std::min(rows, r0 + kChunk);
        if (type == src) {
          std::memcpy(out.data() + uint64_t(r0) * row_bytes, t.bytes.data() + uint64_t(r0) * src_row_bytes,
                      size_t(uint64_t(r1 - r0) * row_bytes));
        } else {
          for (int64_t r = r0; r < r1; ++r) {
            to_f32(t, uint64_t(r * cols), uint64_t(cols), row.data());
            encode_dense_row(type, row.data(), cols, out.data() + uint64_t(r) * row_bytes);
          }
        }
        release_mapped_pages(t.bytes.subspan(size_t(uint64_t(r0) * src_row_bytes),
                                             size_t(uint64_t(r1 - r0) * src_row_bytes)));
      }
      release_mapped_pages(t.bytes);
      done();
      return out;
    });
  }

  // Ternary codes of a packed (uint8, 4 slabs along the output axis) or latent float tensor.
  float decode_linear(const std::string& hf, const SafetensorsTensor& t, int64_t rows, int64_t cols,
                      std::vector<int8_t>& q) {
    if (t.dtype != SafetensorsDtype::kU8) {
      std::vector<float> w(q.size());
      to_f32(t, 0, q.size(), w.data());
      for (float x : w)
        if (!std::isfinite(x)) throw FormatError(st_.file_of(hf), fmt::format("tensor '{}' holds a non-finite value", hf));
      return quantize_absmean(w, q);  // 003 eq. 3-5, as the latent weights were trained
    }
    const int64_t slab = rows / 4;
    for (int64_t r = 0; r < slab; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const uint8_t b = t.bytes[size_t(r * cols + c)];
        for (int64_t i = 0; i < 4; ++i) {
          const int code = (b >> (2 * i)) & 3;
          if (code == 3)
            throw FormatError(st_.file_of(hf), fmt::format("tensor '{}': packed code 3 at row {}, column {} (codes "
                                                           "are 0, 1, 2 for -1, 0, +1)", hf, i * slab + r, c));
          q[size_t((i * slab + r) * cols + c)] = int8_t(code - 1);
        }
      }
    const std::string sname = hf + "_scale";
    const SafetensorsTensor& s = *st_.find(sname);
    float v;
    to_f32(s, 0, 1, &v);
    if (!std::isfinite(v) || v <= 0)
      throw FormatError(st_.file_of(sname), fmt::format("tensor '{}' = {} is not a positive scale", sname, v));
    return fam_.scale_multiplies ? v : 1.0f / v;
  }

  void add_linear(GgufWriter& w, const std::string& gguf, const std::string& hf, int64_t rows, int64_t cols,
                  int64_t permute_heads) {
    const SafetensorsTensor* found = st_.find(hf);
    if (!found) throw FormatError(st_.source(), fmt::format("missing tensor '{}'", hf));
    const bool packed = found->dtype == SafetensorsDtype::kU8;
    if (!packed) require_float(hf, *found);  // before the shape: an I8 tensor is a dtype problem
    if (packed && rows % 4 != 0)
      throw FormatError(config_path_, fmt::format("tensor '{}': {} output rows cannot be packed in 4 slabs", hf, rows));
    const SafetensorsTensor& t =
        expect(hf, {uint64_t(packed ? rows / 4 : rows), uint64_t(cols)}, packed ? " (packed: 4 rows per byte)" : "");
    if (packed) {
      const std::string sname = hf + "_scale";
      const SafetensorsTensor* s = st_.find(sname);
      if (!s) throw FormatError(st_.source(), fmt::format("missing tensor '{}' (the scale of packed '{}')", sname, hf));
      require_float(sname, *s);
      if (s->n_elements() != 1)
        throw FormatError(st_.file_of(sname), fmt::format("tensor '{}' has {} elements, expected 1", sname, s->n_elements()));
      used_.insert(sname);
    }
    ++n_tensors_;
    w.add_tensor(gguf, {uint64_t(cols), uint64_t(rows)}, weight_type_, [this, &t, hf, rows, cols, permute_heads] {
      std::vector<int8_t> q(size_t(rows * cols));
      const float scale = decode_linear(hf, t, rows, cols, q);
      release_mapped_pages(t.bytes);
      if (permute_heads > 0) q = permute_rope_rows(q, rows, cols, permute_heads);
      std::vector<uint8_t> out = encode_ternary(weight_type_, q, rows, cols, scale);
      done();
      return out;
    });
  }

  // llama.cpp's converter (LlamaModel.permute): within each head, rows (j * Dh/2 + i) -> (2i + j), so
  // the pairs HF's rotate_half rotates, (i, i + Dh/2), become adjacent for the GGUF llama arch.
  static std::vector<int8_t> permute_rope_rows(const std::vector<int8_t>& q, int64_t rows, int64_t cols, int64_t heads) {
    std::vector<int8_t> out(q.size());
    const int64_t dh = rows / heads, half = dh / 2;
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < half; ++i)
        for (int64_t j = 0; j < 2; ++j)
          std::memcpy(&out[size_t((h * dh + 2 * i + j) * cols)], &q[size_t((h * dh + j * half + i) * cols)], size_t(cols));
    return out;
  }

  std::string dir_, config_path_;
  ConvertOptions o_;
  SafetensorsSet st_;
  Family fam_;
  ModelConfig cfg_;
  bool tied_ = true;
  uint32_t weight_type_ = 0;
  std::set<std::string, std::less<>> used_;
  uint64_t n_tensors_ = 0, done_ = 0, total_ = 0;
};

}  // namespace

std::string hf_tensor_name_bitnet(TensorRole role, int64_t layer) {
  static const Family kBitnet = {"bitnet-b1.58", "self_attn.attn_sub_norm", "mlp.ffn_sub_norm", true, false, ""};
  return hf_name(role, layer, kBitnet);
}

std::vector<uint8_t> pack_hf_ternary(std::span<const int8_t> q, int64_t rows, int64_t cols) {
  BITLM_ASSERT(rows % 4 == 0 && q.size() == size_t(rows * cols));
  const int64_t slab = rows / 4;
  std::vector<uint8_t> out(size_t(slab * cols), 0);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t r = 0; r < slab; ++r)
      for (int64_t c = 0; c < cols; ++c)
        out[size_t(r * cols + c)] |= uint8_t((q[size_t((i * slab + r) * cols + c)] + 1) << (2 * i));
  return out;
}

ConvertResult convert_hf_checkpoint(const std::string& dir, const std::string& out_path, const ConvertOptions& options) {
  if (!fs::is_directory(dir)) throw IoError(fmt::format("{}: not a folder (a Hugging Face checkpoint folder)", dir));
  try {
    Converter c(dir, options);
    return c.run(out_path);
  } catch (const nlohmann::json::exception& e) {  // a field of another JSON type than the one read
    throw FormatError(dir, fmt::format("a JSON field has an unexpected type ({})", e.what()));
  }
}

}  // namespace bitlm
