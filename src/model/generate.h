// model/generate.h — the generate loop: prefill the prompt, then sample and decode one token at
// a time, streaming each token to a callback; stops after n_predict tokens, at end of generation
// (EOS/EOT) or when the context is full.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "model/forward.h"
#include "model/sampler.h"

namespace bitlm {

class Tokenizer;

struct GenerateStats {
  int64_t n_prompt = 0, n_generated = 0;  // tokens prefilled (the reused prefix not counted); generated
  int64_t n_reused = 0;                   // prompt tokens whose cache rows were kept (generate_continuing)
  double prompt_s = 0, generate_s = 0;  // prefill wall time; decode wall time (after the first token)
  double prompt_tokens_per_s() const { return prompt_s > 0 ? double(n_prompt) / prompt_s : 0; }
  double generate_tokens_per_s() const {
    return generate_s > 0 && n_generated > 1 ? double(n_generated - 1) / generate_s : 0;
  }
};

// on_token(id) returns false to stop early. is_end(id) ends generation without emitting id.
// Throws UserError "prompt has N tokens but the context is M" if the prompt does not fit.
GenerateStats generate_tokens(Forward& fwd, std::span<const int32_t> prompt, int64_t n_predict,
                              const SamplerParams& sampling,
                              const std::function<bool(int32_t)>& is_end,
                              const std::function<bool(int32_t)>& on_token);

// A conversation's next turn: `cached` is the tokens the cache holds (as the previous call left
// them; empty at first). The cache keeps its rows for the longest common prefix of `cached` and
// `prompt` and prefills only the rest, so a chat re-reads only the new messages; on return
// `cached` is the tokens the cache now holds. Chunked prefill is bit-identical to whole
// (batched_forward_test), so the tokens equal generate_tokens' on the same prompt.
GenerateStats generate_continuing(Forward& fwd, std::vector<int32_t>& cached, std::span<const int32_t> prompt,
                                  int64_t n_predict, const SamplerParams& sampling,
                                  const std::function<bool(int32_t)>& is_end,
                                  const std::function<bool(int32_t)>& on_token);

// Text in, text pieces out (the bytes of each token, as the tokenizer decodes them).
GenerateStats generate_text(Forward& fwd, const Tokenizer& tok, std::string_view prompt,
                            int64_t n_predict, const SamplerParams& sampling,
                            const std::function<bool(std::string_view piece)>& on_piece);

}  // namespace bitlm
