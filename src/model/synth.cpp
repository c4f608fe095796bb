// model/synth.cpp — see synth.h.
#include "model/synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"
#include "core/ggml_types.h"
#include "io/gguf.h"
#include "quant/kernels.h"
#include "quant/ternary_formats.h"
#include "tokenizer/tokenizer.h"

namespace bitlm {
namespace {

struct Shape {
  const char* name;
  const char* arch;
  int64_t D, F, layers, heads, kv_heads, vocab, ctx;
  float theta;
  FfnActivation act;
};

// 2B-4T: FORMATS.md 2a; 700m / 3B: 1bitLLM (FORMATS.md 2c); tiny: the tiny-bitnet fixture's shape;
// nano: the smallest file every layer kind fits in (the byte vocabulary's 259 tokens, one layer), model_fuzz's
// seeds: libFuzzer's time per input grows with its size.
constexpr Shape kShapes[] = {
    {"bitnet-2b4t", "bitnet-b1.58", 2560, 6912, 30, 20, 5, 128256, 4096, 500000.0f, FfnActivation::kRelu2},
    {"bitnet-700m", "bitnet", 1536, 4096, 24, 16, 16, 32000, 2048, 10000.0f, FfnActivation::kSilu},
    {"bitnet-3b", "bitnet", 3200, 8640, 26, 32, 32, 32000, 2048, 10000.0f, FfnActivation::kSilu},
    {"tiny", "bitnet", 256, 768, 2, 4, 2, 1024, 256, 10000.0f, FfnActivation::kSilu},
    {"micro", "bitnet-b1.58", 128, 256, 2, 4, 2, 512, 128, 10000.0f, FfnActivation::kRelu2},
    {"nano", "bitnet-b1.58", 128, 128, 1, 2, 1, 260, 32, 10000.0f, FfnActivation::kRelu2},
};

std::vector<uint8_t> f32_bytes(std::span<const float> v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

void add_ternary(GgufWriter& w, Rng& rng, uint32_t type, const std::string& name, int64_t rows, int64_t cols) {
  std::vector<int8_t> q(static_cast<size_t>(rows * cols));
  for (auto& v : q) v = int8_t(int(rng.below(3)) - 1);
  const float scale = float(1.0 / std::sqrt(2.0 / 3.0 * double(cols)));
  w.add_tensor(name, {uint64_t(cols), uint64_t(rows)}, type,
               encode_ternary(type, q, rows, cols, scale, fmt::format("tensor '{}'", name)));
}

void add_norm(GgufWriter& w, Rng& rng, const std::string& name, int64_t n) {
  std::vector<float> g(static_cast<size_t>(n));
  for (auto& v : g) v = float(1.0 + 0.02 * rng.normal());
  w.add_tensor(name, {uint64_t(n)}, kGgmlF32, f32_bytes(g));
}

// A dense matrix of N(0, sd^2) values, encoded row by row in F16, Q8_0, Q6_K or Q4_0: token_embd
// (sd 1), or an fp model's linear weight (weight_mode "fp", the papers' FP16 baseline) in F16 with
// sd 1/sqrt(cols), so activations keep unit scale as the ternary weights' scale gives them.
void add_dense(GgufWriter& w, Rng& rng, uint32_t type, const std::string& name, int64_t rows, int64_t cols,
               double sd) {
  const uint64_t row_bytes = dense_row_bytes(type, cols);
  std::vector<uint8_t> bytes(size_t(row_bytes * uint64_t(rows)));
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = float(sd * rng.normal());
    encode_dense_row(type, row.data(), cols, bytes.data() + uint64_t(r) * row_bytes);
  }
  w.add_tensor(name, {uint64_t(cols), uint64_t(rows)}, type, std::move(bytes));
}

Vocab byte_vocab(int64_t n_vocab) {
  // GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 + k.
  Vocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
    const uint32_t cp = printable ? uint32_t(b) : uint32_t(256 + extra++);
    std::string s;
    if (cp < 0x80) s += char(cp);
    else s += char(0xc0 | (cp >> 6)), s += char(0x80 | (cp & 0x3f));
    v.tokens.push_back(s);
    v.types.push_back(int32_t(TokenType::kNormal));
  }
  v.bos = int32_t(v.tokens.size());
  v.tokens.push_back("<s>");
  v.types.push_back(int32_t(TokenType::kControl));
  v.eos = int32_t(v.tokens.size());
  v.tokens.push_back("</s>");
  v.types.push_back(int32_t(TokenType::kControl));
  v.tokens.push_back("\xc4\xa0t");  // " t": one merge, as a gpt2 vocab needs at least one
  v.types.push_back(int32_t(TokenType::kNormal));
  v.merges.push_back("\xc4\xa0 t");
  for (int64_t i = int64_t(v.tokens.size()); i < n_vocab; ++i) {
    v.tokens.push_back(fmt::format("<unused_{}>", i));
    v.types.push_back(int32_t(TokenType::kUnused));
  }
  v.add_bos = true;
  v.add_space_prefix = false;
  return v;
}

}  // namespace

std::vector<std::string> synth_shape_names() {
  std::vector<std::string> names;
  for (const auto& s : kShapes) names.emplace_back(s.name);
  return names;
}

ModelConfig synth_config(const std::string& shape) {
  for (const auto& s : kShapes) {
    if (shape != s.name) continue;
    ModelConfig c;
    c.set_arch(s.arch);
    c.n_embd = s.D, c.n_ff = s.F, c.n_layer = s.layers, c.n_head = s.heads, c.n_head_kv = s.kv_heads;
    c.head_dim = s.D / s.heads, c.n_ctx_train = s.ctx, c.n_vocab = s.vocab;
    c.rms_eps = 1e-5f, c.rope_theta = s.theta, c.activation = s.act;
    return c;
  }
  throw UserError(fmt::format("unknown shape '{}' (known: {})", shape, fmt::join(synth_shape_names(), ", ")));
}

// The published shapes get a quantized head, as a deployment would (issue 5: the 2B-4T head is more
// bytes than all ternary weights): Q6_K where D holds whole 256-blocks (-9% bytes per decoded token
// vs Q8_0, ppl within +-0.07% on the trained model; docs/performance.md), else Q8_0.
uint32_t synth_default_embd_type(const std::string& shape) {
  if (!shape.starts_with("bitnet-")) return kGgmlF16;
  return synth_config(shape).n_embd % 256 == 0 ? kGgmlQ6_K : kGgmlQ8_0;
}

uint32_t synth_default_weight_type(const std::string& shape) {
  return shape.starts_with("bitnet-") ? best_kernels().fastest_layout : kGgmlBitlmT2;
}

ModelConfig write_synth_model(const SynthOptions& o, const std::string& path) {
  ModelConfig c = synth_config(o.shape);
  BITLM_CHECK(o.embd_type == kGgmlF16 || o.embd_type == kGgmlQ8_0 || o.embd_type == kGgmlQ6_K || o.embd_type == kGgmlQ4_0,
              "synth: embedding type must be F16, Q8_0, Q6_K or Q4_0");
  BITLM_CHECK(o.embd_type != kGgmlQ6_K || c.n_embd % 256 == 0,
              "synth: shape '{}' has D = {}, not a whole number of Q6_K's 256-value blocks", o.shape, c.n_embd);
  const bool fp = o.weight_type == kGgmlF16;
  BITLM_CHECK(fp || is_ternary_write_type(o.weight_type),
              "synth: weight type {} is not F16 or a packed ternary type", ggml_type_name(o.weight_type));
  c.fp_linear = fp;
  if (!o.activation.empty()) {
    BITLM_CHECK(o.activation == "silu" || o.activation == "relu2", "synth: activation '{}' is not silu or relu2",
                o.activation);
    c.activation = o.activation == "relu2" ? FfnActivation::kRelu2 : FfnActivation::kSilu;
  }
  if (!fp) c.prepare_ternary_write(o.weight_type, fmt::format("synth: shape '{}'", o.shape));
  GgufWriter w;
  c.write_gguf(w);
  w.set("general.name", GgufValue::string(fmt::format("bitlm-synth-{}", o.shape)));
  if (o.tokenizer_from.empty()) {
    write_vocab(byte_vocab(c.n_vocab), w);
  } else {
    const auto src = GgufFile::open(o.tokenizer_from);
    Vocab v = read_vocab(*src);
    BITLM_CHECK(int64_t(v.tokens.size()) <= c.n_vocab, "{}: its tokenizer has {} tokens, more than the {} of shape '{}'",
                o.tokenizer_from, v.tokens.size(), c.n_vocab, o.shape);
    c.n_vocab = int64_t(v.tokens.size());
    c.write_gguf(w);
    write_vocab(v, w);
  }
  Rng rng(o.seed);
  const TensorTable& names = c.tensors();
  add_dense(w, rng, o.embd_type, names.gguf_name(TensorRole::kTokenEmbd), c.n_vocab, c.n_embd, 1.0);
  add_norm(w, rng, names.gguf_name(TensorRole::kOutputNorm), c.n_embd);
  for (int64_t l = 0; l < c.n_layer; ++l)
    for (const TensorRow& row : names.blocks) {
      const TensorShape s = tensor_shape(row.role, c);
      if (tensor_kind(row.role) == TensorKind::kNorm) add_norm(w, rng, names.gguf_name(row.role, l), s.cols);
      else if (fp)
        add_dense(w, rng, kGgmlF16, names.gguf_name(row.role, l), s.rows, s.cols, 1 / std::sqrt(double(s.cols)));
      else add_ternary(w, rng, o.weight_type, names.gguf_name(row.role, l), s.rows, s.cols);
    }
  w.write(path);
  return c;
}

}  // namespace bitlm
