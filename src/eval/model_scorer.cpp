// eval/model_scorer.cpp — loglikelihood of continuations with KV reuse of shared contexts.
#include "eval/model_scorer.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace bitlm {

double token_nll(std::span<const float> logits, int32_t target) {
  const float max_l = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l) - max_l);
  return std::log(sum) - (double(logits[size_t(target)]) - max_l);
}

void ModelScorer::eval_context(std::span<const int32_t> context) {
  if (std::equal(context.begin(), context.end(), cached_context_.begin(), cached_context_.end())) return;
  fwd_.kv().clear();
  fwd_.eval(context, /*all_logits=*/false);
  n_tokens_evaluated_ += int64_t(context.size());
  const std::span<const float> last = fwd_.last_logits();
  context_logits_.assign(last.begin(), last.end());
  cached_context_.assign(context.begin(), context.end());
}

LoglikelihoodResult ModelScorer::score_continuation(std::span<const int32_t> continuation) {
  LoglikelihoodResult r;
  const auto add = [&r](std::span<const float> logits, int32_t target) {
    r.logprob -= token_nll(logits, target);
    const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
    r.is_greedy = r.is_greedy && best == target;
  };
  add(context_logits_, continuation[0]);
  if (continuation.size() > 1) {
    fwd_.kv().set_n_pos(int64_t(cached_context_.size()));  // rewind to the shared context
    fwd_.eval(continuation.first(continuation.size() - 1), /*all_logits=*/true);
    n_tokens_evaluated_ += int64_t(continuation.size() - 1);
    for (size_t j = 1; j < continuation.size(); ++j) add(fwd_.logits(int64_t(j - 1)), continuation[j]);
  }
  return r;
}

std::vector<LoglikelihoodResult> ModelScorer::score(std::span<const LoglikelihoodRequest> requests) {
  const int64_t n_ctx = fwd_.n_ctx();
  std::vector<LoglikelihoodResult> out(requests.size());
  // Order by context so every context is evaluated once; results go back to their slots.
  std::vector<size_t> order(requests.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return requests[a].context < requests[b].context; });
  for (const size_t i : order) {
    const LoglikelihoodRequest& req = requests[i];
    BITLM_CHECK(!req.context.empty() && !req.continuation.empty(), "a loglikelihood request needs a context and a continuation");
    std::span<const int32_t> context = req.context, continuation = req.continuation;
    if (int64_t(continuation.size()) > n_ctx) {
      // Longer than the window on its own: its leading tokens become the (one-token) context and
      // only the last n_ctx are scored — the left truncation carried into the continuation.
      ++n_truncated_continuations_;
      const size_t head = continuation.size() - size_t(n_ctx);
      context = continuation.subspan(head - 1, 1);
      continuation = continuation.subspan(head);
    }
    // Input = context + continuation[:-1] must fit n_ctx: drop context tokens from the left.
    const int64_t keep = std::min<int64_t>(int64_t(context.size()), n_ctx + 1 - int64_t(continuation.size()));
    eval_context(context.last(size_t(keep)));
    out[i] = score_continuation(continuation);
  }
  return out;
}

TextEncoder text_encoder(const Tokenizer& tok) {
  return [&tok](std::string_view text) { return tok.encode(text, /*add_bos=*/false); };
}

}  // namespace bitlm
