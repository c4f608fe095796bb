// tokenizer/bpe_tokenizer.cpp — byte-level BPE (tokenizer.ggml.model "gpt2"), as llama.cpp's
// llm_tokenizer_bpe: the pre-tokenizer splits the text into words; each word's UTF-8 bytes are shown
// through GPT-2's byte map ('Ġ' = ' '); inside a word, adjacent symbols (initially the mapped
// characters) merge by tokenizer.ggml.merges rank, lowest rank first (ties: leftmost). Llama-3 takes a
// word that is a token as a whole before merging (llama.cpp's ignore_merges).
#include <algorithm>

#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace bitlm {
namespace {

struct Symbol {
  size_t begin, n;  // bytes of the word; n = 0 once merged into its left neighbour
  int prev, next;
};

struct Bigram {
  int left, right;
  int32_t rank;
  size_t n;  // bytes of the merged text: a stale bigram no longer adds up to it
};

struct BigramAfter {  // heap order: lowest rank, then leftmost, on top
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

// Per-call state, so one tokenizer can serve several threads.
struct Scratch {
  std::vector<Symbol> symbols;
  std::vector<Bigram> heap;
  std::string key;
};

class BpeTokenizer final : public Tokenizer {
 public:
  explicit BpeTokenizer(Vocab vocab)
      : Tokenizer(std::move(vocab)), token_ids_(make_token_map(vocab_)), specials_(vocab_) {
    const bool llama3 = vocab_.pre == "llama-bpe" || vocab_.pre == "llama3" || vocab_.pre == "llama-v3";
    pre_ = llama3 ? PreTokenizer::kLlama3 : PreTokenizer::kGpt2;
    whole_words_ = llama3;
    merge_ranks_.reserve(vocab_.merges.size());
    for (size_t i = 0; i < vocab_.merges.size(); ++i)
      merge_ranks_.emplace(vocab_.merges[i], int32_t(i));  // emplace: the first rank of a duplicate wins
    pieces_.reserve(vocab_.tokens.size());
    for (int32_t id = 0; id < n_vocab(); ++id) pieces_.push_back(make_piece(id));
  }

  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const override {
    std::vector<int32_t> out;
    if (add_bos && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
    Scratch scratch;
    for (const Fragment& f : specials_.split(text, parse_special)) {
      if (f.token >= 0) out.push_back(f.token);
      else encode_text(text.substr(f.begin, f.end - f.begin), scratch, out);
    }
    if (add_bos && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
    return out;
  }

  std::string token_bytes(int32_t id) const override {
    return id >= 0 && id < n_vocab() ? pieces_[size_t(id)] : std::string();
  }

 private:
  // Normal tokens are mapped back to bytes; a code point outside the byte map is kept as it is.
  std::string make_piece(int32_t id) const {
    const std::string& text = vocab_.tokens[size_t(id)];
    const TokenType type = token_type(vocab_, id);
    if (type == TokenType::kUserDefined) return text;
    if (type != TokenType::kNormal) return "";
    std::string bytes;
    for (uint32_t cpt : utf8_to_codepoints(text)) {
      const int b = byte_from_unicode(cpt);
      if (b >= 0) bytes += char(b);
      else append_utf8(cpt, bytes);
    }
    return bytes;
  }

  void encode_text(std::string_view text, Scratch& s, std::vector<int32_t>& out) const {
    const std::vector<uint32_t> cpts = utf8_to_codepoints(text);
    std::vector<size_t> ends;
    split_words(pre_, cpts, ends);
    std::string utf8, word;
    size_t begin = 0;
    for (size_t end : ends) {
      utf8.clear();
      for (size_t i = begin; i < end; ++i) append_utf8(cpts[i], utf8);
      word = bytes_to_unicode(utf8);
      encode_word(word, s, out);
      begin = end;
    }
  }

  int32_t merge_rank(std::string_view word, const Symbol& left, const Symbol& right, Scratch& s) const {
    s.key.assign(word.substr(left.begin, left.n));
    s.key += ' ';
    s.key.append(word.substr(right.begin, right.n));
    const auto it = merge_ranks_.find(std::string_view(s.key));
    return it == merge_ranks_.end() ? -1 : it->second;
  }

  void add_bigram(std::string_view word, int left, int right, Scratch& s) const {
    if (left < 0 || right < 0) return;
    const Symbol& l = s.symbols[size_t(left)];
    const Symbol& r = s.symbols[size_t(right)];
    const int32_t rank = merge_rank(word, l, r, s);
    if (rank < 0) return;
    s.heap.push_back({left, right, rank, l.n + r.n});
    std::push_heap(s.heap.begin(), s.heap.end(), BigramAfter{});
  }

  void encode_word(std::string_view word, Scratch& s, std::vector<int32_t>& out) const {
    if (whole_words_) {
      if (const int32_t id = find_token(token_ids_, word); id >= 0) { out.push_back(id); return; }
    }
    s.symbols.clear();
    s.heap.clear();
    for (size_t offset = 0; offset < word.size();) {
      const size_t n = std::min(utf8_sequence_length(word[offset]), word.size() - offset);
      const int index = int(s.symbols.size());
      s.symbols.push_back({offset, n, index - 1, offset + n == word.size() ? -1 : index + 1});
      offset += n;
    }
    for (int i = 1; i < int(s.symbols.size()); ++i) add_bigram(word, i - 1, i, s);
    while (!s.heap.empty()) {
      std::pop_heap(s.heap.begin(), s.heap.end(), BigramAfter{});
      const Bigram b = s.heap.back();
      s.heap.pop_back();
      Symbol& left = s.symbols[size_t(b.left)];
      Symbol& right = s.symbols[size_t(b.right)];
      if (left.n == 0 || right.n == 0 || left.n + right.n != b.n) continue;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) s.symbols[size_t(right.next)].prev = b.left;
      add_bigram(word, left.prev, b.left, s);
      add_bigram(word, b.left, left.next, s);
    }
    for (int i = s.symbols.empty() ? -1 : 0; i != -1; i = s.symbols[size_t(i)].next) {
      const std::string_view piece = word.substr(s.symbols[size_t(i)].begin, s.symbols[size_t(i)].n);
      if (const int32_t id = find_token(token_ids_, piece); id >= 0) { out.push_back(id); continue; }
      for (char c : piece)  // llama.cpp's fallback: single bytes that happen to be tokens
        if (const int32_t id = find_token(token_ids_, std::string_view(&c, 1)); id >= 0) out.push_back(id);
    }
  }

  TokenMap token_ids_;
  TokenMap merge_ranks_;  // "left right" -> rank
  SpecialTokenSplitter specials_;
  PreTokenizer pre_ = PreTokenizer::kGpt2;
  bool whole_words_ = false;
  std::vector<std::string> pieces_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab vocab) { return std::make_unique<BpeTokenizer>(std::move(vocab)); }

}  // namespace bitlm
