// tests/fuzz/tokenize_fuzz.cpp — the tokenizers' encode on arbitrary bytes. The first byte picks the
// tokenizer (GPT-2 and Llama-3 byte-level BPE, Llama-2 SentencePiece, bitlm's own BPE of the bundled
// model) and the flags (BOS, parse_special); the rest is the text. Checks: every id inside the
// vocabulary, and byte-level BPE decodes back to exactly the input bytes.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "io/gguf.h"
#include "tokenizer/tiktoken.h"
#include "tokenizer/tokenizer.h"

namespace {

struct Named {
  std::unique_ptr<bitlm::Tokenizer> tok;
  bool byte_level = false;
};

std::vector<Named> load_tokenizers() {
  std::vector<Named> out;
  const std::string shared = BITLM_SHARED_DIR "/data/tokenizers/";
  for (const std::string& path : {std::string(BITLM_SOURCE_DIR "/models/bitnet-tinystories.gguf"),
                                 shared + "ggml-vocab-gpt-2.gguf", shared + "ggml-vocab-llama-spm.gguf"}) {
    try {
      const auto f = bitlm::GgufFile::open(path);
      auto tok = bitlm::Tokenizer::from_gguf(*f);
      const bool bl = tok->vocab().model == "gpt2";
      out.push_back({std::move(tok), bl});
    } catch (const bitlm::UserError& e) {
      std::fprintf(stderr, "tokenize_fuzz: skipping %s (%s)\n", path.c_str(), e.what());
    }
  }
  try {
    out.push_back({bitlm::Tokenizer::from_vocab(bitlm::vocab_from_tiktoken(shared + "llama3-tokenizer.model")), true});
  } catch (const bitlm::UserError& e) {
    std::fprintf(stderr, "tokenize_fuzz: skipping llama3-tokenizer.model (%s)\n", e.what());
  }
  if (out.empty()) std::abort();
  return out;
}

const std::vector<Named>& tokenizers() {
  static const std::vector<Named> toks = load_tokenizers();
  return toks;
}

}  // namespace

// Loading the four tokenizers takes ~8 s under ASan (Llama-3's 128k tokens): done here, outside
// the 10 s per-input timeout, which the first input hit on a loaded machine.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<Named>& toks = tokenizers();
  if (size == 0) return 0;
  const Named& t = toks[(data[0] & 0x0f) % toks.size()];
  const bool add_bos = data[0] & 0x10, parse_special = data[0] & 0x20;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  bitlm::fuzz::expect_user_error([&] {
    const std::vector<int32_t> ids = t.tok->encode(text, add_bos, parse_special);
    for (const int32_t id : ids) FUZZ_CHECK(id >= 0 && id < t.tok->n_vocab());
    const std::string back = t.tok->decode(ids);
    // Invalid UTF-8 is not kept byte for byte (the pre-tokenizer reads code points), ASCII is.
    const bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return uint8_t(c) < 0x80; });
    if (t.byte_level && ascii && !add_bos && !parse_special) FUZZ_CHECK(back == text);
  });
  return 0;
}
