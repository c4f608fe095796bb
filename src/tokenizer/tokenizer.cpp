// tokenizer/tokenizer.cpp — the factory (model "llama" -> SPM, "gpt2" -> byte-level BPE), decode, and
// the special-token splitter both tokenizers run first.
#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "io/gguf.h"
#include "tokenizer/tokenizer_impl.h"

namespace bitlm {

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) { return from_vocab(read_vocab(file)); }

std::unique_ptr<Tokenizer> Tokenizer::from_vocab(Vocab vocab) {
  check_vocab(vocab, "vocab");
  if (vocab.model == "llama") return make_spm_tokenizer(std::move(vocab));
  return make_bpe_tokenizer(std::move(vocab));
}

// A leading BOS is skipped, and SPM's space prefix (the '▁' encode added in front of the text) is
// removed from the first piece, so that decode(encode(text)) == text for valid UTF-8.
std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  size_t first = 0;
  if (!ids.empty() && ids[0] == vocab_.bos) first = 1;
  for (size_t i = first; i < ids.size(); ++i) {
    const std::string piece = token_bytes(ids[i]);
    const bool strip = i == first && vocab_.model == "llama" && vocab_.add_space_prefix && !piece.empty() && piece[0] == ' ';
    text.append(piece, strip ? 1 : 0);
  }
  return text;
}

SpecialTokenSplitter::SpecialTokenSplitter(const Vocab& vocab) : vocab_(vocab) {
  for (int32_t id = 0; id < int32_t(vocab.tokens.size()); ++id) {
    const TokenType t = token_type(vocab, id);
    if ((t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown) &&
        !vocab.tokens[size_t(id)].empty())
      ids_.push_back(id);
  }
  std::stable_sort(ids_.begin(), ids_.end(), [&](int32_t a, int32_t b) {
    return vocab.tokens[size_t(a)].size() > vocab.tokens[size_t(b)].size();
  });
}

std::vector<Fragment> SpecialTokenSplitter::split(std::string_view text, bool parse_special) const {
  std::vector<Fragment> fragments, next;
  if (text.empty()) return fragments;
  fragments.push_back({-1, 0, text.size()});
  for (int32_t id : ids_) {
    if (!parse_special && token_type(vocab_, id) != TokenType::kUserDefined) continue;
    const std::string& special = vocab_.tokens[size_t(id)];
    next.clear();
    for (const Fragment& f : fragments) {
      if (f.token >= 0) { next.push_back(f); continue; }
      const std::string_view raw = text.substr(0, f.end);
      size_t pos = f.begin;
      for (size_t hit; (hit = raw.find(special, pos)) != std::string_view::npos; pos = hit + special.size()) {
        if (hit > pos) next.push_back({-1, pos, hit});
        next.push_back({id, hit, hit + special.size()});
      }
      if (pos < f.end) next.push_back({-1, pos, f.end});
    }
    fragments.swap(next);
  }
  return fragments;
}

}  // namespace bitlm
