// eval/model_scorer.h — the Scorer backed by the inference runtime (model/forward.h).
// Requests that share a context (the choices of one question) are grouped: the context is
// evaluated once, then for each continuation the KV cache is rewound to the end of the context and
// context + continuation[:-1] is completed in one batched eval, so a 4-choice question costs one
// context prefill plus four short ones. Input longer than the window loses tokens from the left
// of the context (lm-eval truncates the same way); a continuation longer than the window itself
// keeps only its last n_ctx tokens scored (counted in n_truncated_continuations).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "eval/scorer.h"
#include "model/forward.h"

namespace bitlm {

class Tokenizer;

class ModelScorer : public Scorer {
 public:
  explicit ModelScorer(Forward& fwd) : fwd_(fwd) {}
  std::vector<LoglikelihoodResult> score(std::span<const LoglikelihoodRequest> requests) override;
  int64_t n_tokens_evaluated() const { return n_tokens_evaluated_; }
  int64_t n_truncated_continuations() const { return n_truncated_continuations_; }

 private:
  void eval_context(std::span<const int32_t> context);
  LoglikelihoodResult score_continuation(std::span<const int32_t> continuation);

  Forward& fwd_;
  std::vector<int32_t> cached_context_;
  std::vector<float> context_logits_;  // the last context token's logits: they predict continuation[0]
  int64_t n_tokens_evaluated_ = 0, n_truncated_continuations_ = 0;
};

// -log softmax(logits)[target], in double: the loss of one scored token.
double token_nll(std::span<const float> logits, int32_t target);

// Tokenizer::encode without BOS, as the task and perplexity code expects.
TextEncoder text_encoder(const Tokenizer& tok);

}  // namespace bitlm
