// tokenizer/tiktoken.h — Llama-3's vocabulary from Meta's tiktoken file (one `base64(bytes) rank` line
// per token, ranks 0..N-1), converted to what a GGUF holds: GPT-2 byte-level token strings, merges
// derived from the ranks, the 256 Llama-3 special tokens after the ranks, pre "llama-bpe".
#pragma once
#include <string>

#include "tokenizer/tokenizer.h"

namespace bitlm {

// Throws IoError if the file cannot be read, FormatError naming the line of a bad record.
Vocab vocab_from_tiktoken(const std::string& path);

}  // namespace bitlm
