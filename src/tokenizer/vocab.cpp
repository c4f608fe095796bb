// tokenizer/vocab.cpp — Vocab <-> the GGUF keys llama.cpp uses (tokenizer.ggml.*), with llama.cpp's
// per-model defaults for keys a file leaves out, and the consistency checks every tokenizer relies on.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer_impl.h"

namespace bitlm {
namespace {

constexpr std::string_view kModel = "tokenizer.ggml.model";
constexpr std::string_view kPre = "tokenizer.ggml.pre";
constexpr std::string_view kTokens = "tokenizer.ggml.tokens";
constexpr std::string_view kScores = "tokenizer.ggml.scores";
constexpr std::string_view kTokenType = "tokenizer.ggml.token_type";
constexpr std::string_view kMerges = "tokenizer.ggml.merges";
constexpr std::string_view kAddBos = "tokenizer.ggml.add_bos_token";
constexpr std::string_view kAddEos = "tokenizer.ggml.add_eos_token";
constexpr std::string_view kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";

struct SpecialIdKey {
  std::string_view key;
  int32_t Vocab::*field;
};
constexpr std::array<SpecialIdKey, 5> kSpecialIds = {{
    {"tokenizer.ggml.bos_token_id", &Vocab::bos},
    {"tokenizer.ggml.eos_token_id", &Vocab::eos},
    {"tokenizer.ggml.unknown_token_id", &Vocab::unk},
    {"tokenizer.ggml.padding_token_id", &Vocab::pad},
    {"tokenizer.ggml.eot_token_id", &Vocab::eot},
}};

// llama.cpp finds the end-of-turn token by its text when the file does not name it.
int32_t find_eot_by_text(const Vocab& v) {
  for (std::string_view text : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>"}) {
    const auto it = std::find(v.tokens.begin(), v.tokens.end(), text);
    if (it != v.tokens.end()) return int32_t(it - v.tokens.begin());
  }
  return -1;
}

bool is_llama3_pre(std::string_view pre) { return pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3"; }

}  // namespace

TokenType token_type(const Vocab& vocab, int32_t id) {
  return vocab.types.empty() ? TokenType::kNormal : TokenType(vocab.types[size_t(id)]);
}

TokenMap make_token_map(const Vocab& vocab) {
  TokenMap map;
  map.reserve(vocab.tokens.size());
  for (size_t i = 0; i < vocab.tokens.size(); ++i) map[vocab.tokens[i]] = int32_t(i);
  return map;
}

void check_vocab(const Vocab& v, std::string_view source) {
  const size_t n = v.tokens.size();
  if (n == 0) throw FormatError(source, fmt::format("no tokenizer: {} missing", kTokens));
  if (n > size_t(INT32_MAX)) throw FormatError(source, fmt::format("{}: {} tokens is too many", kTokens, n));
  if (v.model != "llama" && v.model != "gpt2")
    throw FormatError(source, fmt::format("{}: unsupported tokenizer model '{}' (supported: llama, gpt2)", kModel, v.model));
  if (v.model == "gpt2" && !(v.pre.empty() || v.pre == "default" || v.pre == "gpt-2" || is_llama3_pre(v.pre)))
    throw FormatError(source, fmt::format("{}: unsupported pre-tokenizer '{}' (supported: default, gpt-2, llama-bpe)", kPre, v.pre));
  if (!v.scores.empty() && v.scores.size() != n)
    throw FormatError(source, fmt::format("{} has {} entries for {} tokens", kScores, v.scores.size(), n));
  if (!v.types.empty() && v.types.size() != n)
    throw FormatError(source, fmt::format("{} has {} entries for {} tokens", kTokenType, v.types.size(), n));
  for (size_t i = 0; i < v.types.size(); ++i)
    if (v.types[i] < int32_t(TokenType::kNormal) || v.types[i] > int32_t(TokenType::kByte))
      throw FormatError(source, fmt::format("{}[{}] = {} is not a token type (1..6)", kTokenType, i, v.types[i]));
  // An empty merges list is valid: a pure byte-level tokenizer (every byte one token), which
  // llama.cpp loads too.
  for (size_t i = 0; i < v.merges.size(); ++i)
    if (v.merges[i].find(' ', 1) == std::string::npos)
      throw FormatError(source, fmt::format("{}[{}] = '{}' is not two tokens separated by a space", kMerges, i, v.merges[i]));
  for (const SpecialIdKey& s : kSpecialIds) {
    const int32_t id = v.*s.field;
    if (id < -1 || id >= int32_t(n))
      throw FormatError(source, fmt::format("{} = {} is out of range for {} tokens", s.key, id, n));
  }
}

Vocab read_vocab(const GgufFile& file) {
  Vocab v;
  v.tokens = file.get_string_array(kTokens);
  if (v.tokens.empty()) throw FormatError(file.path(), fmt::format("no tokenizer: {} missing", kTokens));
  const std::optional<std::string> model = file.get_string(kModel);
  if (!model) throw FormatError(file.path(), fmt::format("no tokenizer: {} missing", kModel));
  v.model = *model;
  v.pre = file.get_string(kPre).value_or("default");
  v.scores = file.get_f32_array(kScores);
  v.types = file.get_i32_array(kTokenType);
  v.merges = file.get_string_array(kMerges);
  // llama.cpp's defaults when a key is absent: SPM has <unk>=0, <s>=1, </s>=2, adds BOS and a
  // space prefix; byte-level BPE adds BOS only for Llama-3.
  const bool spm = v.model == "llama";
  v.bos = spm ? 1 : -1;
  v.eos = spm ? 2 : -1;
  v.unk = spm ? 0 : -1;
  v.add_bos = spm || is_llama3_pre(v.pre);
  v.add_eos = false;
  v.add_space_prefix = spm;
  for (const SpecialIdKey& s : kSpecialIds) {
    if (const std::optional<uint64_t> id = file.get_uint(s.key)) {
      if (*id >= v.tokens.size())
        throw FormatError(file.path(), fmt::format("{} = {} is out of range for {} tokens", s.key, *id, v.tokens.size()));
      v.*s.field = int32_t(*id);
    }
  }
  if (v.eot < 0) v.eot = find_eot_by_text(v);
  v.add_bos = file.get_bool(kAddBos).value_or(v.add_bos);
  v.add_eos = file.get_bool(kAddEos).value_or(v.add_eos);
  v.add_space_prefix = file.get_bool(kAddSpacePrefix).value_or(v.add_space_prefix);
  if (v.bos >= int32_t(v.tokens.size())) v.bos = -1;  // a default the (small) vocab does not hold
  if (v.eos >= int32_t(v.tokens.size())) v.eos = -1;
  if (v.unk >= int32_t(v.tokens.size())) v.unk = -1;
  check_vocab(v, file.path());
  return v;
}

void write_vocab(const Vocab& v, GgufWriter& writer) {
  check_vocab(v, "write_vocab");
  writer.set(std::string(kModel), GgufValue::string(v.model));
  writer.set(std::string(kPre), GgufValue::string(v.pre));
  writer.set(std::string(kTokens), GgufValue::string_array(v.tokens));
  if (!v.scores.empty()) writer.set(std::string(kScores), GgufValue::f32_array(v.scores));
  if (!v.types.empty()) writer.set(std::string(kTokenType), GgufValue::i32_array(v.types));
  // llama.cpp requires the merges key of a gpt2 tokenizer even when the list is empty.
  if (!v.merges.empty() || v.model == "gpt2") writer.set(std::string(kMerges), GgufValue::string_array(v.merges));
  for (const SpecialIdKey& s : kSpecialIds)
    if (v.*s.field >= 0) writer.set(std::string(s.key), GgufValue::u32(uint32_t(v.*s.field)));
  writer.set(std::string(kAddBos), GgufValue::boolean(v.add_bos));
  writer.set(std::string(kAddEos), GgufValue::boolean(v.add_eos));
  writer.set(std::string(kAddSpacePrefix), GgufValue::boolean(v.add_space_prefix));
}

}  // namespace bitlm
