// tokenizer/pretokenize.h — the byte-level BPE pre-tokenizers: the regexes of GPT-2 and Llama-3
// written out as code over code point classes (no regex engine here supports \p{L}), with the
// same results as llama.cpp's unicode_regex_split_custom_gpt2 / _llama3.
//   gpt-2:     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   llama-bpe: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//              \s*[\r\n]+|\s+(?!\S)|\s+
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace bitlm {

enum class PreTokenizer { kGpt2, kLlama3 };

// Appends to `word_ends` the end (exclusive, in code points) of each word of `cpts`, in order;
// the words cover `cpts` without gaps.
void split_words(PreTokenizer kind, std::span<const uint32_t> cpts, std::vector<size_t>& word_ends);

}  // namespace bitlm
