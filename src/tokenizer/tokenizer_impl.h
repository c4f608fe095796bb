// tokenizer/tokenizer_impl.h — what the SPM and BPE tokenizers share inside the module: the token
// text -> id map, the special-token splitter (llama.cpp's tokenizer_st_partition) and vocab checks.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace bitlm {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
// Heterogeneous lookup: find(std::string_view) allocates nothing.
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Token text -> id; a duplicate text maps to its last id, as llama.cpp's token_to_id.
TokenMap make_token_map(const Vocab& vocab);
inline int32_t find_token(const TokenMap& map, std::string_view text) {
  const auto it = map.find(text);
  return it == map.end() ? -1 : it->second;
}

TokenType token_type(const Vocab& vocab, int32_t id);

// A piece of the input: raw text [begin, end) to tokenize, or a special token matched in it.
struct Fragment {
  int32_t token = -1;  // >= 0: special token id
  size_t begin = 0, end = 0;
};

// Splits text around special tokens, longest token text first. User-defined tokens always match;
// control and unknown tokens only with parse_special (llama.cpp's rule). Empty text: no fragments.
class SpecialTokenSplitter {
 public:
  explicit SpecialTokenSplitter(const Vocab& vocab);
  std::vector<Fragment> split(std::string_view text, bool parse_special) const;

 private:
  const Vocab& vocab_;
  std::vector<int32_t> ids_;  // control / user-defined / unknown, longest text first
};

// Throws FormatError(source, ...) naming the key of the first inconsistency found.
void check_vocab(const Vocab& vocab, std::string_view source);

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocab vocab);
std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab vocab);

}  // namespace bitlm
