// tokenizer/hf_tokenizer.h — a Hugging Face tokenizer folder as a Vocab (the tokenizer.ggml.* keys):
//   tokenizer.json       byte-level BPE (model.type "BPE", no byte_fallback): vocab, merges ("a b" or
//                        ["a", "b"]), added tokens (special -> control, else user-defined), the
//                        pre-tokenizer (Llama-3's Split regex -> "llama-bpe", a ByteLevel with its own
//                        regex -> "gpt-2"; others are refused by name)
//   tokenizer.model      SentencePiece BPE (LLaMA-2, the 1bitLLM models): the protobuf ModelProto's
//                        pieces (text, score, type), unk/bos/eos/pad ids, add_dummy_prefix; used
//                        when there is no byte-level tokenizer.json
//   tokenizer_config.json  bos_token / eos_token (by text), add_bos_token / add_eos_token,
//                        chat_template; generation_config.json and config.json ids as fallbacks.
// Every malformed or unsupported field is a FormatError naming the file and the field.
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "tokenizer/tokenizer.h"

namespace bitlm {

struct HfTokenizer {
  Vocab vocab;
  std::string chat_template;  // empty: none (tokenizer.chat_template in GGUF)
};

HfTokenizer read_hf_tokenizer(const std::string& dir);

// The writers of `bitlm export --format hf`: tokenizer.json for a byte-level BPE vocab (UserError
// for another model), read back by read_hf_tokenizer as the same tokens, merges and specials; and
// tokenizer_config.json (BOS/EOS by text, add_bos/add_eos, the chat template when not empty).
std::string hf_tokenizer_json(const Vocab& vocab);
std::string hf_tokenizer_config_json(const Vocab& vocab, const std::string& chat_template, int64_t model_max_length);

// The SentencePiece ModelProto bytes of a tokenizer.model (path for messages).
Vocab vocab_from_sentencepiece(std::span<const uint8_t> proto, const std::string& path);

}  // namespace bitlm
