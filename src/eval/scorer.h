// eval/scorer.h — the one question every evaluation asks a model: "how likely is this
// continuation after this context?" (lm-evaluation-harness `loglikelihood` requests).
// Tasks and perplexity are written against this interface only, so their logic is tested with a
// fake scorer, and the model-backed scorer (eval/model_scorer.h) is the only code that runs a model.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace bitlm {

// Token ids: `context` conditions, `continuation` is scored. The context already holds BOS when
// the caller wants one; it must not be empty (the first continuation token needs a predecessor).
struct LoglikelihoodRequest {
  std::vector<int32_t> context, continuation;
};

struct LoglikelihoodResult {
  double logprob = 0;     // sum over continuation tokens of log p(token | everything before it), nats
  bool is_greedy = true;  // every continuation token is the argmax of its distribution
};

class Scorer {
 public:
  virtual ~Scorer() = default;
  // One result per request, in order. Implementations may reorder work internally (group the
  // requests sharing a context, sort by length) but never the results.
  virtual std::vector<LoglikelihoodResult> score(std::span<const LoglikelihoodRequest> requests) = 0;
};

// Text -> token ids, without BOS (the task code decides where BOS goes).
using TextEncoder = std::function<std::vector<int32_t>(std::string_view text)>;

}  // namespace bitlm
