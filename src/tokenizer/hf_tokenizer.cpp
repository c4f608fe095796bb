// tokenizer/hf_tokenizer.cpp — see hf_tokenizer.h.
#include "tokenizer/hf_tokenizer.h"

#include <cstring>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "io/json_file.h"
#include "io/mapped_file.h"
#include "tokenizer/tokenizer_impl.h"

namespace bitlm {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Llama-3's pre-tokenizer regex, as its tokenizer.json spells it (llama.cpp names it "llama-bpe").
constexpr std::string_view kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

std::string pre_tokenizer_name(const std::string& path, const json& pre) {
  if (pre.is_null()) throw FormatError(path, "pre_tokenizer is null (a byte-level BPE needs one)");
  const std::string type = pre.value("type", "");
  if (type == "ByteLevel" && pre.value("use_regex", true)) return "gpt-2";
  if (type == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    bool llama3 = false, byte_level = false;
    for (const json& p : pre["pretokenizers"]) {
      const std::string t = p.value("type", "");
      if (t == "ByteLevel") byte_level = true;
      else if (t == "Split" && p.contains("pattern") && p["pattern"].is_object() &&
               p["pattern"].value("Regex", "") == kLlama3Regex)
        llama3 = true;
      else
        throw FormatError(path, fmt::format("pre_tokenizer: a {} step is not supported (supported: Llama-3's "
                                            "Split regex + ByteLevel, GPT-2's ByteLevel)", p.dump().substr(0, 120)));
    }
    if (llama3 && byte_level) return "llama-bpe";
  }
  throw FormatError(path, fmt::format("pre_tokenizer of type '{}' is not supported (supported: Llama-3's Split "
                                      "regex + ByteLevel, GPT-2's ByteLevel)", type));
}

// tokenizer_config.json's bos_token / eos_token: a string or {"content": ...}.
std::optional<std::string> token_text(const json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  return std::nullopt;
}

int32_t id_of(const Vocab& v, const std::string& text) {
  for (size_t i = 0; i < v.tokens.size(); ++i)
    if (v.tokens[i] == text) return int32_t(i);
  return -1;
}

// generation_config.json / config.json: an id or a list of ids (the first).
std::optional<int32_t> config_id(const json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int32_t>();
  if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) return (*it)[0].get<int32_t>();
  return std::nullopt;
}

Vocab vocab_from_tokenizer_json(const json& j, const std::string& path) {
  const json& model = j.contains("model") ? j["model"] : json();
  const std::string type = model.is_object() ? model.value("type", "") : "";
  if (type != "BPE")
    throw FormatError(path, fmt::format("model.type '{}' is not supported (supported: BPE)", type));
  if (!model.contains("vocab") || !model["vocab"].is_object())
    throw FormatError(path, "model.vocab is not an object of token -> id");
  Vocab v;
  v.model = "gpt2";
  v.pre = pre_tokenizer_name(path, j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json());
  v.add_bos = false;
  v.add_space_prefix = false;
  std::vector<std::pair<int64_t, std::string>> entries;
  std::vector<int32_t> types_of;
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= (int64_t(1) << 24))
      throw FormatError(path, fmt::format("model.vocab['{}'] = {} is not a token id", text, id.dump()));
    entries.emplace_back(id.get<int64_t>(), text);
  }
  std::vector<std::pair<int64_t, std::pair<std::string, bool>>> added;
  if (j.contains("added_tokens") && j["added_tokens"].is_array())
    for (const json& t : j["added_tokens"]) {
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || !t.contains("content") ||
          !t["content"].is_string() || t["id"].get<int64_t>() < 0 || t["id"].get<int64_t>() >= (int64_t(1) << 24))
        throw FormatError(path, fmt::format("added_tokens: {} is not an {{id, content}} entry", t.dump().substr(0, 120)));
      added.push_back({t["id"].get<int64_t>(), {t["content"].get<std::string>(), t.value("special", false)}});
    }
  int64_t n = 0;
  for (const auto& e : entries) n = std::max(n, e.first + 1);
  for (const auto& a : added) n = std::max(n, a.first + 1);
  // Holes become [PAD] tokens (below); a few are normal, but one id of 9,144,444 in a 2 KB file would
  // make millions (found by tokenizer_json_fuzz: > 2 GiB). Refuse more holes than tokens.
  const int64_t given = int64_t(entries.size() + added.size());
  if (n > 2 * given + 1024)
    throw FormatError(path, fmt::format("model.vocab: token id {} leaves {} of {} ids without a token ({} given)",
                                        n - 1, n - given, n, given));
  v.tokens.assign(size_t(n), std::string());
  v.types.assign(size_t(n), int32_t(TokenType::kNormal));
  std::vector<bool> seen(size_t(n), false);
  for (const auto& [id, text] : entries) {
    if (seen[size_t(id)]) throw FormatError(path, fmt::format("model.vocab: id {} is given twice", id));
    seen[size_t(id)] = true;
    v.tokens[size_t(id)] = text;
  }
  for (const auto& [id, t] : added) {
    v.tokens[size_t(id)] = t.first;
    v.types[size_t(id)] = int32_t(t.second ? TokenType::kControl : TokenType::kUserDefined);
    seen[size_t(id)] = true;
  }
  for (size_t i = 0; i < seen.size(); ++i)
    if (!seen[i]) {  // llama.cpp's converter fills holes the same way
      v.tokens[i] = fmt::format("[PAD{}]", i);
      v.types[i] = int32_t(TokenType::kUnused);
    }
  if (model.contains("merges") && !model["merges"].is_null()) {
    if (!model["merges"].is_array()) throw FormatError(path, "model.merges is not an array");
    for (const json& m : model["merges"]) {  // "a b" (older files) or ["a", "b"] (tokenizers >= 0.20)
      if (m.is_string()) v.merges.push_back(m.get<std::string>());
      else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
        v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      else throw FormatError(path, fmt::format("model.merges: {} is not a pair of tokens", m.dump().substr(0, 120)));
    }
  }
  // A post-processor that prepends a special token adds BOS (Llama-3's TemplateProcessing).
  if (j.contains("post_processor") && j["post_processor"].is_object()) {
    const json& pp = j["post_processor"];
    const json* single = nullptr;
    if (pp.value("type", "") == "TemplateProcessing" && pp.contains("single")) single = &pp["single"];
    if (pp.value("type", "") == "Sequence" && pp.contains("processors") && pp["processors"].is_array())
      for (const json& p : pp["processors"])
        if (p.is_object() && p.value("type", "") == "TemplateProcessing" && p.contains("single")) single = &p["single"];
    if (single && single->is_array() && !single->empty() && (*single)[0].is_object() &&
        (*single)[0].contains("SpecialToken"))
      v.add_bos = true;
  }
  return v;
}

// ---- protobuf, the little of it a ModelProto needs ----
struct ProtoReader {
  std::span<const uint8_t> b;
  size_t pos = 0;
  const std::string& path;

  [[noreturn]] void fail(std::string_view what) const {
    throw FormatError(path, fmt::format("not a SentencePiece model: {} at byte {}", what, pos));
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= b.size()) fail("truncated varint");
      const uint8_t c = b[pos++];
      v |= uint64_t(c & 0x7F) << shift;
      if (!(c & 0x80)) return v;
    }
    fail("overlong varint");
  }
  std::span<const uint8_t> bytes(uint64_t n) {
    if (n > b.size() - pos) fail("a field runs past the end");
    const auto out = b.subspan(pos, size_t(n));
    pos += size_t(n);
    return out;
  }
  // Calls f(field, wire, value-or-length, payload) for every field.
  template <class F>
  void each(F&& f) {
    while (pos < b.size()) {
      const uint64_t key = varint();
      const uint32_t field = uint32_t(key >> 3), wire = uint32_t(key & 7);
      if (wire == 0) f(field, wire, varint(), std::span<const uint8_t>());
      else if (wire == 2) { const uint64_t n = varint(); f(field, wire, n, bytes(n)); }
      else if (wire == 5) f(field, wire, 0, bytes(4));
      else if (wire == 1) f(field, wire, 0, bytes(8));
      else fail(fmt::format("wire type {}", wire));
    }
  }
};

}  // namespace

Vocab vocab_from_sentencepiece(std::span<const uint8_t> proto, const std::string& path) {
  Vocab v;
  v.model = "llama";
  v.pre = "default";
  v.unk = 0, v.bos = 1, v.eos = 2, v.pad = -1;
  v.add_bos = true;
  v.add_space_prefix = true;
  int64_t model_type = 1;  // UNIGRAM unless the trainer spec says otherwise
  ProtoReader top{proto, 0, path};
  top.each([&](uint32_t field, uint32_t wire, uint64_t, std::span<const uint8_t> payload) {
    if (field == 1 && wire == 2) {  // SentencePiece { piece = 1; score = 2; type = 3 }
      std::string text;
      float score = 0;
      int32_t type = 1;
      ProtoReader r{payload, 0, path};
      r.each([&](uint32_t f, uint32_t w, uint64_t val, std::span<const uint8_t> p) {
        if (f == 1 && w == 2) text.assign(reinterpret_cast<const char*>(p.data()), p.size());
        else if (f == 2 && w == 5) std::memcpy(&score, p.data(), 4);
        else if (f == 3 && w == 0) type = int32_t(val);
      });
      if (type < 1 || type > 6) throw FormatError(path, fmt::format("piece {} ('{}') has type {}", v.tokens.size(), text, type));
      v.tokens.push_back(std::move(text));
      v.scores.push_back(score);
      v.types.push_back(type);
    } else if (field == 2 && wire == 2) {  // TrainerSpec
      ProtoReader r{payload, 0, path};
      r.each([&](uint32_t f, uint32_t w, uint64_t val, std::span<const uint8_t>) {
        if (w != 0) return;
        const int32_t id = int32_t(int64_t(val));  // ids are int32 (-1 = none), sign-extended varints
        if (f == 3) model_type = int64_t(val);
        else if (f == 40) v.unk = id;
        else if (f == 41) v.bos = id;
        else if (f == 42) v.eos = id;
        else if (f == 43) v.pad = id;
      });
    } else if (field == 3 && wire == 2) {  // NormalizerSpec { add_dummy_prefix = 3 }
      ProtoReader r{payload, 0, path};
      r.each([&](uint32_t f, uint32_t w, uint64_t val, std::span<const uint8_t>) {
        if (f == 3 && w == 0) v.add_space_prefix = val != 0;
      });
    }
  });
  if (v.tokens.empty()) throw FormatError(path, "not a SentencePiece model: no pieces");
  if (model_type != 2)
    throw FormatError(path, fmt::format("SentencePiece model_type {} is not supported (supported: 2, BPE)", model_type));
  return v;
}

std::string hf_tokenizer_json(const Vocab& v) {
  BITLM_CHECK(v.model == "gpt2", "tokenizer.json: only byte-level BPE (gpt2) vocabularies are written, not '{}'", v.model);
  const bool llama3 = v.pre == "llama-bpe" || v.pre == "llama3" || v.pre == "llama-v3";
  json vocab = json::object();  // a sorted map: an ordered one searches linearly per insert (128k tokens)
  json added = json::array();
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    const TokenType t = token_type(v, int32_t(i));
    if (t == TokenType::kControl || t == TokenType::kUserDefined)
      added.push_back({{"id", i}, {"content", v.tokens[i]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", t == TokenType::kControl}});
    else
      vocab[v.tokens[i]] = i;
  }
  json pre = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", !llama3}};
  if (llama3)
    pre = {{"type", "Sequence"},
           {"pretokenizers",
            {{{"type", "Split"}, {"pattern", {{"Regex", std::string(kLlama3Regex)}}}, {"behavior", "Isolated"},
              {"invert", false}},
             pre}}};
  json post = nullptr;
  if (v.add_bos && v.bos >= 0) {
    const std::string& bos = v.tokens[size_t(v.bos)];
    post = {{"type", "TemplateProcessing"},
            {"single", {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"pair", json::array()},
            {"special_tokens", {{bos, {{"id", bos}, {"ids", json::array({v.bos})}, {"tokens", json::array({bos})}}}}}};
  }
  const json out = {
      {"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added},
      {"normalizer", nullptr}, {"pre_tokenizer", pre}, {"post_processor", post},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", llama3},
        {"vocab", vocab}, {"merges", v.merges}}}};
  return out.dump(1) + "\n";
}

std::string hf_tokenizer_config_json(const Vocab& v, const std::string& chat_template, int64_t model_max_length) {
  json c = {{"add_bos_token", v.add_bos}, {"add_eos_token", v.add_eos}, {"model_max_length", model_max_length},
            {"tokenizer_class", "PreTrainedTokenizerFast"}};
  if (v.bos >= 0) c["bos_token"] = v.tokens[size_t(v.bos)];
  if (v.eos >= 0) c["eos_token"] = v.tokens[size_t(v.eos)];
  if (!chat_template.empty()) c["chat_template"] = chat_template;
  return c.dump(1) + "\n";
}

namespace {

HfTokenizer read_hf_tokenizer_fields(const std::string& dir) {
  const std::string json_path = (fs::path(dir) / "tokenizer.json").string();
  const std::string spm_path = (fs::path(dir) / "tokenizer.model").string();
  HfTokenizer out;
  std::string source;
  bool use_json = fs::exists(json_path);
  json tok;
  if (use_json) {
    tok = read_json_file(json_path);
    if (!tok.is_object()) throw FormatError(json_path, "not a JSON object");
    // A SentencePiece model exported to tokenizer.json (byte_fallback): read tokenizer.model instead.
    if (tok.contains("model") && tok["model"].is_object() && tok["model"].value("byte_fallback", false) &&
        fs::exists(spm_path))
      use_json = false;
  }
  if (use_json) {
    out.vocab = vocab_from_tokenizer_json(tok, json_path);
    source = json_path;
  } else if (fs::exists(spm_path)) {
    const MappedFile f(spm_path);
    out.vocab = vocab_from_sentencepiece(f.bytes(), spm_path);
    source = spm_path;
  } else {
    throw IoError(fmt::format("{}: no tokenizer.json or tokenizer.model", dir));
  }
  Vocab& v = out.vocab;
  const auto read_optional = [&](const char* name) {
    const std::string p = (fs::path(dir) / name).string();
    return fs::exists(p) ? read_json_file(p) : json::object();
  };
  const json config = read_optional("config.json"), gen = read_optional("generation_config.json");
  const std::string tc_path = (fs::path(dir) / "tokenizer_config.json").string();
  const json tc = read_optional("tokenizer_config.json");
  for (const json* c : {&config, &gen})  // the later, more specific file wins
    if (c->is_object()) {
      if (auto id = config_id(*c, "bos_token_id")) v.bos = *id;
      if (auto id = config_id(*c, "eos_token_id")) v.eos = *id;
    }
  if (tc.is_object()) {
    for (auto [key, field] : {std::pair{"bos_token", &Vocab::bos}, std::pair{"eos_token", &Vocab::eos}})
      if (const auto text = token_text(tc, key)) {
        const int32_t id = id_of(v, *text);
        if (id < 0) throw FormatError(tc_path, fmt::format("{} '{}' is not a token of {}", key, *text, source));
        v.*field = id;
      }
    if (tc.contains("add_bos_token") && tc["add_bos_token"].is_boolean()) v.add_bos = tc["add_bos_token"].get<bool>();
    if (tc.contains("add_eos_token") && tc["add_eos_token"].is_boolean()) v.add_eos = tc["add_eos_token"].get<bool>();
    if (tc.contains("chat_template")) {
      const json& t = tc["chat_template"];
      if (t.is_string()) out.chat_template = t.get<std::string>();
      else if (t.is_array())  // [{"name": "default", "template": ...}, ...]
        for (const json& e : t)
          if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
            out.chat_template = e["template"].get<std::string>();
    }
  }
  for (int32_t* id : {&v.bos, &v.eos, &v.unk, &v.pad})
    if (*id >= int32_t(v.tokens.size())) *id = -1;
  check_vocab(v, source);
  return out;
}

}  // namespace

HfTokenizer read_hf_tokenizer(const std::string& dir) {
  try {
    return read_hf_tokenizer_fields(dir);
  } catch (const nlohmann::json::exception& e) {  // a field of another type, e.g. "type": 5 (tokenizer_json_fuzz)
    throw FormatError(dir, fmt::format("a tokenizer JSON field has an unexpected type ({})", e.what()));
  }
}

}  // namespace bitlm
