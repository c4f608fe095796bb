// model/config.cpp — the arch table and the metadata keys (see config.h).
#include "model/config.h"

#include <fmt/format.h>

#include <array>

#include "core/error.h"
#include "core/ggml_types.h"
#include "io/gguf.h"
#include "quant/packed_layout.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

// bitnet: llama.cpp's 1bitLLM graph (SiLU, sub-norms, NEOX). bitnet-b1.58 / bitnet-25: Microsoft
// 2B-4T (relu2, FORMATS.md 2a; bitnet.cpp runs it with SiLU, which is wrong). llama: HF1BitLLM,
// Falcon3-1.58bit (no sub-norms; llama.cpp's converter permutes q/k for adjacent-pair RoPE).
constexpr std::array<ArchTraits, 4> kArchs = {{
    {"bitnet", FfnActivation::kSilu, &kBitnetTensors, true, 10000.0f},
    {"bitnet-b1.58", FfnActivation::kRelu2, &kBitnetTensors, true, 500000.0f},
    {"bitnet-25", FfnActivation::kRelu2, &kBitnetTensors, true, 500000.0f},
    {"llama", FfnActivation::kSilu, &kLlamaTensors, false, 10000.0f},
}};

// Bounds well above any published model, so a corrupt field fails here with its key named
// instead of as a multi-terabyte allocation later.
constexpr uint64_t kMaxDim = 1 << 20, kMaxLayers = 4096, kMaxHeads = 4096, kMaxVocab = 1 << 23;
constexpr uint64_t kMaxCtx = 1 << 24;

const ArchTraits& require_arch(const std::string& path, const std::string& arch) {
  if (const ArchTraits* a = find_arch(arch)) return *a;
  std::string names;
  for (const auto& a : kArchs) names += (names.empty() ? "" : ", ") + std::string(a.name);
  throw FormatError(path, fmt::format("unknown architecture '{}' (supported: {})", arch, names));
}

int64_t require_dim(const GgufFile& f, const std::string& key, uint64_t max_value) {
  const auto v = f.get_uint(key);
  if (!v) throw FormatError(f.path(), fmt::format("missing key '{}'", key));
  if (*v == 0 || *v > max_value)
    throw FormatError(f.path(), fmt::format("key '{}' = {} is out of range [1, {}]", key, *v, max_value));
  return int64_t(*v);
}

int64_t optional_dim(const GgufFile& f, const std::string& key, uint64_t max_value, int64_t fallback) {
  if (!f.find(key)) return fallback;
  return require_dim(f, key, max_value);
}

FfnActivation parse_activation(const std::string& path, const std::string& key, const std::string& v) {
  if (v == "silu" || v == "swiglu") return FfnActivation::kSilu;
  if (v == "relu2" || v == "relu_squared") return FfnActivation::kRelu2;
  throw FormatError(path, fmt::format("key '{}' = '{}' is not a known activation (silu, relu2)", key, v));
}

// Absent: ternary, as every published BitNet file; a float linear weight there is a latent weight.
bool parse_fp_linear(const GgufFile& f, const std::string& key) {
  const auto v = f.get_string(key);
  if (!v || *v == "b1.58" || *v == "b1") return false;
  if (*v == "fp") return true;
  throw FormatError(f.path(), fmt::format("key '{}' = '{}' is not a known weight mode (b1.58, b1, fp)", key, *v));
}

}  // namespace

std::string_view activation_name(FfnActivation act) {
  return act == FfnActivation::kRelu2 ? "relu2" : "silu";
}

std::span<const ArchTraits> supported_archs() { return kArchs; }

const ArchTraits* find_arch(std::string_view arch) {
  for (const auto& a : kArchs)
    if (a.name == arch) return &a;
  return nullptr;
}

const TensorTable& ModelConfig::tensors() const {
  const ArchTraits* a = find_arch(arch);
  BITLM_ASSERT(a != nullptr);
  return *a->tensors;
}

void ModelConfig::set_arch(std::string_view name) {
  const ArchTraits* a = find_arch(name);
  BITLM_ASSERT(a != nullptr);
  arch = name;
  rope_neox = a->rope_neox;
  sub_norms = a->tensors->has(TensorRole::kAttnSubNorm);
}

std::string_view ModelConfig::peer_arch() const {
  const bool relu2 = activation == FfnActivation::kRelu2;
  if (sub_norms) return relu2 ? "bitnet-b1.58" : "bitnet";
  return relu2 ? "" : "llama";
}

void ModelConfig::use_peer_arch() {
  const std::string_view peer = peer_arch();
  if (peer.empty())
    throw UserError(fmt::format("no peer engine runs arch '{}' with a {} FFN (llama.cpp and ik_llama.cpp: bitnet "
                                "with SiLU, bitnet-b1.58 with ReLU^2, llama with SiLU)", arch,
                                activation_name(activation)));
  BITLM_ASSERT(find_arch(peer)->tensors == find_arch(arch)->tensors);
  set_arch(peer);
}

void ModelConfig::prepare_ternary_write(uint32_t ternary_type, std::string_view what) {
  if (!find_packed_layout(ternary_type)) use_peer_arch();
  const int64_t multiple = ternary_cols_multiple(ternary_type);
  for (const int64_t n : {n_embd, n_ff, q_dim()})
    if (n % multiple != 0)
      throw UserError(fmt::format("{}: rows of {} weights (D {}, F {}, attention width {}) are not whole {}-weight "
                                  "blocks of {}", what, n, n_embd, n_ff, q_dim(), multiple,
                                  ggml_type_name(ternary_type)));
}

ModelConfig ModelConfig::from_gguf(const GgufFile& f) {
  const auto arch = f.get_string("general.architecture");
  if (!arch) throw FormatError(f.path(), "missing key 'general.architecture'");
  const ArchTraits& traits = require_arch(f.path(), *arch);
  const auto key = [&](std::string_view k) { return fmt::format("{}.{}", *arch, k); };

  ModelConfig c;
  c.set_arch(*arch);
  c.n_embd = require_dim(f, key("embedding_length"), kMaxDim);
  c.n_ff = require_dim(f, key("feed_forward_length"), kMaxDim);
  c.n_layer = require_dim(f, key("block_count"), kMaxLayers);
  c.n_head = require_dim(f, key("attention.head_count"), kMaxHeads);
  c.n_head_kv = optional_dim(f, key("attention.head_count_kv"), kMaxHeads, c.n_head);
  c.n_ctx_train = require_dim(f, key("context_length"), kMaxCtx);
  // The head size: llama.cpp's attention.key_length (value_length must equal it) where it differs
  // from n_embd / n_head (Falcon3-1.58bit); the q/o projections are then n_head * head_dim wide.
  // RoPE rotates the whole head (rope.dimension_count = head_dim).
  if (!f.find(key("attention.key_length")) && c.n_embd % c.n_head != 0)
    throw FormatError(f.path(), fmt::format("key '{}' = {} does not divide {} = {} (and '{}' is absent)",
                                            key("attention.head_count"), c.n_head, key("embedding_length"),
                                            c.n_embd, key("attention.key_length")));
  c.head_dim = optional_dim(f, key("attention.key_length"), kMaxDim, c.n_embd / c.n_head);
  if (const int64_t v = optional_dim(f, key("attention.value_length"), kMaxDim, c.head_dim); v != c.head_dim)
    throw FormatError(f.path(), fmt::format("key '{}' = {} differs from '{}' = {}: not supported",
                                            key("attention.value_length"), v, key("attention.key_length"),
                                            c.head_dim));
  if (const int64_t rot = optional_dim(f, key("rope.dimension_count"), kMaxDim, c.head_dim);
      rot % 2 != 0 || rot != c.head_dim)
    throw FormatError(f.path(), fmt::format("key '{}' = {}: partial or odd rotary dimensions are not supported "
                                            "(head dim {})", key("rope.dimension_count"), rot, c.head_dim));
  if (c.n_head % c.n_head_kv != 0)
    throw FormatError(f.path(), fmt::format("key '{}' = {} does not divide the {} query heads",
                                            key("attention.head_count_kv"), c.n_head_kv, c.n_head));
  const int64_t embd_rows = [&]() -> int64_t {
    const auto* t = f.find_tensor(traits.tensors->gguf_name(TensorRole::kTokenEmbd));
    return t && t->ne.size() == 2 ? int64_t(t->ne[1]) : 0;
  }();
  c.n_vocab = embd_rows ? optional_dim(f, key("vocab_size"), kMaxVocab, embd_rows)
                        : require_dim(f, key("vocab_size"), kMaxVocab);

  const double eps = f.get_float(key("attention.layer_norm_rms_epsilon")).value_or(1e-5);
  if (!(eps > 0 && eps < 1))
    throw FormatError(f.path(), fmt::format("key '{}' = {} is out of range (0, 1)",
                                            key("attention.layer_norm_rms_epsilon"), eps));
  c.rms_eps = float(eps);
  const double theta = f.get_float(key("rope.freq_base")).value_or(traits.default_rope_theta);
  if (!(theta > 1 && theta < 1e12))
    throw FormatError(f.path(), fmt::format("key '{}' = {} is out of range", key("rope.freq_base"), theta));
  c.rope_theta = float(theta);

  c.activation = traits.default_activation;
  for (const std::string& k : {key("feed_forward_activation"), key("hidden_act")})
    if (const auto v = f.get_string(k)) c.activation = parse_activation(f.path(), k, *v);
  c.fp_linear = parse_fp_linear(f, key("weight_mode"));
  if (const auto bits = f.get_uint(key("act_bits"))) {
    if (!c.fp_linear || *bits < 2 || *bits > 16)
      throw FormatError(f.path(), fmt::format("key '{}' = {}: activation bits are 2..16, in an fp model only",
                                              key("act_bits"), *bits));
    c.act_bits = int(*bits);
  }
  if (const auto q = f.get_string(key("act_quant"))) {
    if (*q != "elastic" && *q != "absmax")
      throw FormatError(f.path(), fmt::format("key '{}' = '{}' is not absmax or elastic", key("act_quant"), *q));
    if (*q == "elastic" && c.fp_linear)
      throw FormatError(f.path(), fmt::format("key '{}' = 'elastic' in an fp model (it has no activation quantizer)",
                                              key("act_quant")));
    c.elastic_act = *q == "elastic";
  }
  return c;
}

void ModelConfig::write_gguf(GgufWriter& w) const {
  const auto key = [&](std::string_view k) { return fmt::format("{}.{}", arch, k); };
  w.set("general.architecture", GgufValue::string(arch));
  w.set(key("context_length"), GgufValue::u32(uint32_t(n_ctx_train)));
  w.set(key("embedding_length"), GgufValue::u32(uint32_t(n_embd)));
  w.set(key("block_count"), GgufValue::u32(uint32_t(n_layer)));
  w.set(key("feed_forward_length"), GgufValue::u32(uint32_t(n_ff)));
  w.set(key("attention.head_count"), GgufValue::u32(uint32_t(n_head)));
  w.set(key("attention.head_count_kv"), GgufValue::u32(uint32_t(n_head_kv)));
  w.set(key("rope.freq_base"), GgufValue::f32(rope_theta));
  w.set(key("rope.dimension_count"), GgufValue::u32(uint32_t(head_dim)));
  if (head_dim != n_embd / n_head || n_embd % n_head != 0) {  // as llama.cpp's converter: only where it differs
    w.set(key("attention.key_length"), GgufValue::u32(uint32_t(head_dim)));
    w.set(key("attention.value_length"), GgufValue::u32(uint32_t(head_dim)));
  }
  w.set(key("attention.layer_norm_rms_epsilon"), GgufValue::f32(rms_eps));
  w.set(key("vocab_size"), GgufValue::u32(uint32_t(n_vocab)));
  w.set(key("feed_forward_activation"), GgufValue::string(std::string(activation_name(activation))));
  if (fp_linear) w.set(key("weight_mode"), GgufValue::string("fp"));
  if (act_bits > 0) w.set(key("act_bits"), GgufValue::u32(uint32_t(act_bits)));
  if (elastic_act) w.set(key("act_quant"), GgufValue::string("elastic"));
}

}  // namespace bitlm
