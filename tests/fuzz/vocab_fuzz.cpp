// tests/fuzz/vocab_fuzz.cpp — tokenizer loading: the tokenizer.ggml.* metadata of a GGUF (first
// byte even) or a tiktoken vocabulary file (odd) on arbitrary bytes, then encode / decode of a few
// fixed texts through whatever loaded. Seeds: fuzz_seeds' small vocab-only GGUFs (SPM, GPT-2 BPE,
// Llama-3 BPE, special tokens) and tiktoken files.
#include "fuzz_tokenizer.h"
#include "io/gguf.h"
#include "tokenizer/tiktoken.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto& file = bitlm::fuzz::memfile();
  if (!file.write(data + 1, size - 1)) return 0;
  bitlm::fuzz::expect_user_error([&] {
    if (data[0] & 1) {
      bitlm::fuzz::exercise_tokenizer(*bitlm::Tokenizer::from_vocab(bitlm::vocab_from_tiktoken(file.path())));
    } else {
      const auto f = bitlm::GgufFile::open(file.path());
      bitlm::fuzz::exercise_tokenizer(*bitlm::Tokenizer::from_gguf(*f));
    }
  });
  return 0;
}
