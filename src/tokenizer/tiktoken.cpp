// tokenizer/tiktoken.cpp — tiktoken ranks -> Vocab. tiktoken merges by rank directly: the pair whose
// concatenation has the lowest rank merges first. A GGUF stores merges instead; like Hugging Face's
// TikTokenConverter (which wrote Llama-3's tokenizer.json, hence llama.cpp's GGUF), every split of a
// token into two tokens becomes a merge, ordered by (token rank, left rank, right rank): 280,147
// merges for Llama-3, exactly the count in its tokenizer.json. One split per token would not do:
// 678 Llama-3 tokens cannot be reached by merging lower ranks (e.g. ".:.:" stops at ". :. :").
#include "tokenizer/tiktoken.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace bitlm {
namespace {

constexpr int kNumSpecialTokens = 256;

// Meta's llama3/tokenizer.py (also microsoft/BitNet gpu/tokenizer.py), ids 128000..128255.
std::vector<std::string> llama3_special_tokens() {
  std::vector<std::string> s = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                                "<|reserved_special_token_1|>", "<|reserved_special_token_2|>",
                                "<|reserved_special_token_3|>", "<|start_header_id|>", "<|end_header_id|>",
                                "<|reserved_special_token_4|>", "<|eot_id|>"};
  for (int i = 5; i < kNumSpecialTokens - 5; ++i) s.push_back(fmt::format("<|reserved_special_token_{}|>", i));
  return s;
}

bool base64_decode(std::string_view in, std::string& out) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t;
    t.fill(-1);
    const std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < alphabet.size(); ++i) t[uint8_t(alphabet[i])] = int8_t(i);
    return t;
  }();
  out.clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '=') {
      if (i + 2 < in.size() || (i + 1 < in.size() && in[i + 1] != '=')) return false;
      break;
    }
    const int v = table[uint8_t(in[i])];
    if (v < 0) return false;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xFF);
    }
  }
  return true;
}

// Every split of `token` into two tokens, ordered by (rank of left, rank of right).
std::vector<std::pair<int32_t, int32_t>> two_token_splits(const std::string& token, const TokenMap& ranks) {
  std::vector<std::pair<int32_t, int32_t>> splits;
  for (size_t i = 1; i < token.size(); ++i) {
    const int32_t left = find_token(ranks, std::string_view(token).substr(0, i));
    const int32_t right = find_token(ranks, std::string_view(token).substr(i));
    if (left >= 0 && right >= 0) splits.emplace_back(left, right);
  }
  std::sort(splits.begin(), splits.end());
  return splits;
}

}  // namespace

Vocab vocab_from_tiktoken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open", path));
  std::vector<std::string> token_bytes;  // raw bytes, index = rank
  TokenMap ranks;
  std::string line, bytes;
  for (size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    int64_t rank = -1;
    if (space != std::string::npos) {
      std::istringstream rank_text(line.substr(space + 1));
      if (!(rank_text >> rank) || !rank_text.eof()) rank = -1;
    }
    if (rank < 0 || !base64_decode(std::string_view(line).substr(0, space), bytes))
      throw FormatError(path, fmt::format("line {}: expected 'base64 rank'", line_no));
    if (rank != int64_t(token_bytes.size()))
      throw FormatError(path, fmt::format("line {}: rank {} where {} was expected (ranks must be 0, 1, 2, ...)",
                                          line_no, rank, token_bytes.size()));
    if (!ranks.emplace(bytes, int32_t(rank)).second)
      throw FormatError(path, fmt::format("line {}: duplicate token (rank {})", line_no, rank));
    token_bytes.push_back(bytes);
  }
  if (token_bytes.empty()) throw FormatError(path, "no tokens");

  Vocab v;
  v.model = "gpt2";
  v.pre = "llama-bpe";
  for (const std::string& bytes : token_bytes) v.tokens.push_back(bytes_to_unicode(bytes));
  for (size_t rank = 0; rank < token_bytes.size(); ++rank) {
    const std::vector<std::pair<int32_t, int32_t>> splits = two_token_splits(token_bytes[rank], ranks);
    if (token_bytes[rank].size() > 1 && splits.empty())
      throw FormatError(path, fmt::format("token of rank {} is no concatenation of two tokens", rank));
    for (auto [left, right] : splits) v.merges.push_back(v.tokens[size_t(left)] + " " + v.tokens[size_t(right)]);
  }
  v.types.assign(v.tokens.size(), int32_t(TokenType::kNormal));
  const int32_t first_special = int32_t(v.tokens.size());
  for (std::string& s : llama3_special_tokens()) {
    v.tokens.push_back(std::move(s));
    v.types.push_back(int32_t(TokenType::kControl));
  }
  v.bos = first_special;      // <|begin_of_text|>
  v.eos = first_special + 1;  // <|end_of_text|>
  v.eot = first_special + 9;  // <|eot_id|>
  v.add_bos = true;
  v.add_eos = false;
  v.add_space_prefix = false;
  check_vocab(v, path);
  return v;
}

}  // namespace bitlm
