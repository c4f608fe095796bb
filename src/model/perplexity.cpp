// model/perplexity.cpp — see perplexity.h.
#include "model/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace bitlm {

double PerplexityResult::ppl() const { return n_scored ? std::exp(nll_sum / double(n_scored)) : 0.0; }

double token_nll(std::span<const float> logits, int32_t target) {
  const float max_l = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l) - max_l);
  return std::log(sum) - (double(logits[size_t(target)]) - max_l);
}

PerplexityResult perplexity_llama_chunks(Forward& fwd, std::span<const int32_t> tokens,
                                         int64_t n_ctx, int32_t bos, const PplProgress& progress) {
  BITLM_CHECK(n_ctx >= 4 && n_ctx <= fwd.n_ctx(), "perplexity context {} must be in [4, {}]", n_ctx, fwd.n_ctx());
  const int64_t n_chunks = int64_t(tokens.size()) / n_ctx;
  BITLM_CHECK(n_chunks > 0, "the text has {} tokens, fewer than one chunk of {}", tokens.size(), n_ctx);
  PerplexityResult r;
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::copy_n(tokens.begin() + c * n_ctx, n_ctx, chunk.begin());
    if (bos >= 0) chunk[0] = bos;
    fwd.kv().clear();
    fwd.eval(chunk, /*all_logits=*/true);
    for (int64_t j = n_ctx / 2; j < n_ctx - 1; ++j) {
      r.nll_sum += token_nll(fwd.logits(j), chunk[size_t(j + 1)]);
      ++r.n_scored;
    }
    if (progress) progress(c + 1, n_chunks);
  }
  return r;
}

PerplexityResult perplexity_sliding(Forward& fwd, std::span<const int32_t> tokens, int64_t n_ctx,
                                    int64_t stride, const PplProgress& progress) {
  BITLM_CHECK(n_ctx >= 2 && n_ctx <= fwd.n_ctx(), "perplexity context {} must be in [2, {}]", n_ctx, fwd.n_ctx());
  BITLM_CHECK(stride >= 1 && stride <= n_ctx, "stride {} must be in [1, {}]", stride, n_ctx);
  const int64_t n = int64_t(tokens.size());
  BITLM_CHECK(n >= 2, "the text has {} tokens: nothing to score", n);
  const int64_t total = std::max<int64_t>(1, (std::max<int64_t>(n - n_ctx, 0) + stride - 1) / stride + 1);
  PerplexityResult r;
  int64_t scored_end = 1, done = 0;  // targets [1, scored_end) are scored
  for (int64_t begin = 0;; begin += stride) {
    const int64_t end = std::min(begin + n_ctx, n);
    fwd.kv().clear();
    fwd.eval(tokens.subspan(size_t(begin), size_t(end - begin)), /*all_logits=*/true);
    for (int64_t p = std::max(scored_end, begin + 1); p < end; ++p) {
      r.nll_sum += token_nll(fwd.logits(p - 1 - begin), tokens[size_t(p)]);
      ++r.n_scored;
    }
    scored_end = end;
    if (progress) progress(++done, total);
    if (end == n) break;
  }
  return r;
}

}  // namespace bitlm
