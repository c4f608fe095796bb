// tests/fuzz/fuzz_tokenizer.h — what the targets that load a tokenizer (vocab_fuzz, tokenizer_json_fuzz)
// do with whatever loaded: encode a few fixed texts with every flag combination (every id inside the
// vocabulary), decode the ids, and read the first tokens' bytes.
#pragma once
#include <string_view>

#include "fuzz_util.h"
#include "tokenizer/tokenizer.h"

namespace bitlm::fuzz {

inline void exercise_tokenizer(const Tokenizer& tok) {
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

}  // namespace bitlm::fuzz
