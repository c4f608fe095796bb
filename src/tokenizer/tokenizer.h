// tokenizer/tokenizer.h — tokenizers read from GGUF metadata (tokenizer.ggml.*): SentencePiece
// BPE (model "llama") and byte-level BPE (model "gpt2", pre-tokenizers "gpt-2" and "llama-bpe"/
// Llama-3). Matches llama.cpp's llama-tokenize output (its test vectors in shared/data/tokenizers).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bitlm {

class GgufFile;
class GgufWriter;

enum class TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// Everything a tokenizer is made of, as stored in GGUF.
struct Vocab {
  std::string model;        // "llama" (SPM) or "gpt2" (byte-level BPE)
  std::string pre;          // pre-tokenizer: "default", "llama-bpe", "gpt-2", ...
  std::vector<std::string> tokens;
  std::vector<float> scores;        // SPM merge priorities (may be empty for gpt2)
  std::vector<int32_t> types;       // TokenType per token (may be empty: all normal)
  std::vector<std::string> merges;  // "a b" per line, rank = index (gpt2)
  int32_t bos = -1, eos = -1, unk = -1, pad = -1, eot = -1;
  bool add_bos = true, add_eos = false;
  bool add_space_prefix = true;     // SPM: prepend ' ' (as '▁')
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Throws FormatError naming the file if the tokenizer metadata is missing or inconsistent.
  static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& file);
  static std::unique_ptr<Tokenizer> from_vocab(Vocab vocab);

  // add_bos: prepend BOS when the vocab says so. parse_special: "<s>"-style control tokens in the
  // text become their ids (off by default, as llama-tokenize without --parse-special... see .cpp).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos,
                                      bool parse_special = false) const = 0;
  // The bytes of one token (SPM: '▁' -> ' ', <0xNN> -> byte; BPE: byte-level unmapping).
  virtual std::string token_bytes(int32_t id) const = 0;
  std::string decode(std::span<const int32_t> ids) const;

  const Vocab& vocab() const { return vocab_; }
  int32_t n_vocab() const { return int32_t(vocab_.tokens.size()); }
  int32_t bos() const { return vocab_.bos; }
  int32_t eos() const { return vocab_.eos; }
  bool is_end_of_generation(int32_t id) const { return id == vocab_.eos || id == vocab_.eot; }

 protected:
  explicit Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}
  Vocab vocab_;
};

Vocab read_vocab(const GgufFile& file);                  // throws FormatError
void write_vocab(const Vocab& vocab, GgufWriter& writer);  // tokenizer.ggml.* keys

}  // namespace bitlm
