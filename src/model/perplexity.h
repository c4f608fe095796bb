// model/perplexity.h — perplexity of a token sequence under a model.
//  - llama-perplexity's method (the fixture README): cut into chunks of n_ctx tokens (the tail
//    that does not fill a chunk is dropped), BOS replaces each chunk's first token, only the
//    second half is scored: logits at positions n_ctx/2 .. n_ctx-2 predict the next token.
//  - sliding window (HF's method): windows of n_ctx tokens every `stride` tokens; each token is
//    scored once, by the first window that sees it with the most context.
#pragma once
#include <cstdint>
#include <functional>
#include <span>

#include "model/forward.h"

namespace bitlm {

struct PerplexityResult {
  double nll_sum = 0;  // natural log
  int64_t n_scored = 0;
  double ppl() const;
};

// progress(done, total) after each chunk or window, if given.
using PplProgress = std::function<void(int64_t done, int64_t total)>;

PerplexityResult perplexity_llama_chunks(Forward& fwd, std::span<const int32_t> tokens,
                                         int64_t n_ctx, int32_t bos, const PplProgress& progress = {});
PerplexityResult perplexity_sliding(Forward& fwd, std::span<const int32_t> tokens, int64_t n_ctx,
                                    int64_t stride, const PplProgress& progress = {});

// -log softmax(logits)[target], in double.
double token_nll(std::span<const float> logits, int32_t target);

}  // namespace bitlm
