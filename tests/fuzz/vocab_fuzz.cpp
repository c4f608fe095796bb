// tests/fuzz/vocab_fuzz.cpp — tokenizer loading: the tokenizer.ggml.* metadata of a GGUF (first
// byte even) or a tiktoken vocabulary file (odd) on arbitrary bytes, then encode / decode of a few
// fixed texts through whatever loaded. Seeds: fuzz_seeds' small vocab-only GGUFs (SPM, GPT-2 BPE,
// Llama-3 BPE, special tokens) and tiktoken files.
#include <string_view>

#include "fuzz_util.h"
#include "io/gguf.h"
#include "tokenizer/tiktoken.h"
#include "tokenizer/tokenizer.h"

namespace {

void exercise(const bitlm::Tokenizer& tok) {
  static constexpr std::string_view kTexts[] = {
      "Hello world", " leading and  double  spaces\n\n\ttabs", "<s></s><|endoftext|><|eot_id|><unk>",
      "caf\xc3\xa9 \xe2\x96\x81 \xf0\x9f\x98\x80 123456 it's", "\xff\xfe\x80 invalid utf-8 \xc3", ""};
  for (const std::string_view text : kTexts) {
    for (int flags = 0; flags < 4; ++flags) {
      const auto ids = tok.encode(text, flags & 1, flags & 2);
      for (const int32_t id : ids) FUZZ_CHECK(id >= 0 && id < tok.n_vocab());
      (void)tok.decode(ids);
    }
  }
  for (int32_t id = 0; id < tok.n_vocab() && id < 512; ++id) (void)tok.token_bytes(id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto& file = bitlm::fuzz::memfile();
  if (!file.write(data + 1, size - 1)) return 0;
  bitlm::fuzz::expect_user_error([&] {
    if (data[0] & 1) {
      exercise(*bitlm::Tokenizer::from_vocab(bitlm::vocab_from_tiktoken(file.path())));
    } else {
      const auto f = bitlm::GgufFile::open(file.path());
      exercise(*bitlm::Tokenizer::from_gguf(*f));
    }
  });
  return 0;
}
