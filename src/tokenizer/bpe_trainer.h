// tokenizer/bpe_trainer.h — trains a byte-level BPE vocabulary (GPT-2 byte map, Llama-3 pre-tokenizer,
// so the result loads as model "gpt2", pre "llama-bpe"). Tokens: the 256 bytes (ids 0..255, in byte
// order), then one per merge, then the special tokens (control type; the first is BOS and EOS).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace bitlm {

struct BpeTrainOptions {
  int vocab_size = 4096;  // total, special tokens included
  std::vector<std::string> special_tokens = {"<|endoftext|>"};
  int64_t min_pair_count = 2;  // stop early when no pair occurs this often
};

// Deterministic: the same text and options give the same vocab. Occurrences of the special tokens in
// the text are cut out before counting. Throws UserError on options it cannot satisfy.
Vocab train_bpe(std::string_view text, const BpeTrainOptions& options);
// The files are read one after another; IoError names a file that cannot be read.
Vocab train_bpe_files(const std::vector<std::string>& paths, const BpeTrainOptions& options);

}  // namespace bitlm
