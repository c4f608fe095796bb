// tokenizer/spm_tokenizer.cpp — SentencePiece BPE (tokenizer.ggml.model "llama"), as llama.cpp's
// llm_tokenizer_spm: spaces become '▁' (U+2581), a ' ' is prepended to text that starts the input or
// follows a special token, then adjacent symbols (initially UTF-8 characters) merge greedily, the
// pair whose merged text is the token with the highest score first (ties: leftmost). A symbol left
// that is no token is emitted as its bytes' <0xNN> tokens.
#include <algorithm>
#include <array>
#include <queue>

#include <fmt/format.h>

#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace bitlm {
namespace {

constexpr std::string_view kSpaceEscape = "\xE2\x96\x81";  // '▁'

std::string escape_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (char c : text) {
    if (c == ' ') out += kSpaceEscape;
    else out += c;
  }
  return out;
}

std::string unescape_spaces(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i, kSpaceEscape.size()) == kSpaceEscape) { out += ' '; i += kSpaceEscape.size(); }
    else out += text[i++];
  }
  return out;
}

// "<0x0A>" -> 10, or -1.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (char c : text.substr(3, 2)) {
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

struct Symbol {
  const char* text;
  size_t n;       // bytes; 0 once merged into its left neighbour
  int prev, next; // linked list over the surviving symbols
};

struct Bigram {
  int left, right;
  float score;
  size_t n;  // bytes of the merged text: a stale bigram no longer adds up to it
};

struct BigramOrder {  // priority_queue pops the largest: highest score, then leftmost
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

class SpmTokenizer final : public Tokenizer {
 public:
  explicit SpmTokenizer(Vocab vocab)
      : Tokenizer(std::move(vocab)), token_ids_(make_token_map(vocab_)), specials_(vocab_) {
    for (int b = 0; b < 256; ++b) {
      int32_t id = find_token(token_ids_, fmt::format("<0x{:02X}>", b));
      if (id < 0) id = find_token(token_ids_, std::string(1, char(b)));
      byte_tokens_[size_t(b)] = id >= 0 ? id : vocab_.unk;
    }
    pieces_.reserve(vocab_.tokens.size());
    for (int32_t id = 0; id < n_vocab(); ++id) pieces_.push_back(make_piece(id));
  }

  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const override {
    std::vector<int32_t> out;
    if (add_bos && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
    Scratch scratch;
    bool after_special = true;  // the input start counts as a special token
    for (const Fragment& f : specials_.split(text, parse_special)) {
      if (f.token >= 0) {
        out.push_back(f.token);
        after_special = true;
        continue;
      }
      std::string raw = vocab_.add_space_prefix && after_special ? " " : "";
      raw += text.substr(f.begin, f.end - f.begin);
      encode_escaped(escape_spaces(raw), scratch, out);
      after_special = false;
    }
    if (add_bos && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
    return out;
  }

  std::string token_bytes(int32_t id) const override {
    return id >= 0 && id < n_vocab() ? pieces_[size_t(id)] : std::string();
  }

 private:
  std::string make_piece(int32_t id) const {
    const std::string& text = vocab_.tokens[size_t(id)];
    switch (token_type(vocab_, id)) {
      case TokenType::kNormal: return unescape_spaces(text);
      case TokenType::kUserDefined: return text;
      case TokenType::kByte: {
        const int b = parse_byte_token(text);
        return b >= 0 ? std::string(1, char(b)) : text;
      }
      case TokenType::kUnknown: return "\xE2\x96\x85";  // '▅', as llama.cpp prints <unk>
      default: return "";                              // control / unused: not text
    }
  }

  // Per-call state, so one tokenizer can serve several threads.
  struct Scratch {
    std::vector<Symbol> symbols;
    std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
  };

  void try_add_bigram(int left, int right, Scratch& s) const {
    if (left < 0 || right < 0) return;
    const std::string_view merged(s.symbols[size_t(left)].text, s.symbols[size_t(left)].n + s.symbols[size_t(right)].n);
    const int32_t id = find_token(token_ids_, merged);
    if (id < 0) return;
    const float score = vocab_.scores.empty() ? 0.0f : vocab_.scores[size_t(id)];
    s.queue.push({left, right, score, merged.size()});
  }

  void encode_escaped(const std::string& text, Scratch& s, std::vector<int32_t>& out) const {
    std::vector<Symbol>& symbols = s.symbols;
    symbols.clear();
    for (size_t offset = 0; offset < text.size();) {
      const size_t n = std::min(utf8_sequence_length(text[offset]), text.size() - offset);
      const int index = int(symbols.size());
      symbols.push_back({text.data() + offset, n, index - 1, offset + n == text.size() ? -1 : index + 1});
      offset += n;
    }
    for (int i = 1; i < int(symbols.size()); ++i) try_add_bigram(i - 1, i, s);
    while (!s.queue.empty()) {
      const Bigram b = s.queue.top();
      s.queue.pop();
      Symbol& left = symbols[size_t(b.left)];
      Symbol& right = symbols[size_t(b.right)];
      if (left.n == 0 || right.n == 0 || left.n + right.n != b.n) continue;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[size_t(right.next)].prev = b.left;
      try_add_bigram(left.prev, b.left, s);
      try_add_bigram(b.left, left.next, s);
    }
    for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[size_t(i)].next) {
      const Symbol& sym = symbols[size_t(i)];
      const int32_t id = find_token(token_ids_, std::string_view(sym.text, sym.n));
      if (id >= 0) { out.push_back(id); continue; }
      for (size_t j = 0; j < sym.n; ++j) {
        const int32_t byte_id = byte_tokens_[uint8_t(sym.text[j])];
        if (byte_id >= 0) out.push_back(byte_id);
      }
    }
  }

  TokenMap token_ids_;
  SpecialTokenSplitter specials_;
  std::array<int32_t, 256> byte_tokens_{};
  std::vector<std::string> pieces_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocab vocab) { return std::make_unique<SpmTokenizer>(std::move(vocab)); }

}  // namespace bitlm
