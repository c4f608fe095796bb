// tests/eval/model_scorer_test.cpp — the model-backed scorer (shared-context KV reuse, window
// truncation) against a plain forward over the whole sequence, on the tiny-bitnet fixture.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "eval/model_scorer.h"

namespace bitlm {
namespace {

const std::string kModel = std::string(BITLM_SHARED_DIR) + "/fixtures/tiny-bitnet/tiny-bitnet-TQ2_0.gguf";

LoglikelihoodResult direct(Forward& fwd, const std::vector<int32_t>& ctx, const std::vector<int32_t>& cont) {
  std::vector<int32_t> input = ctx;
  input.insert(input.end(), cont.begin(), cont.end() - 1);
  fwd.kv().clear();
  fwd.eval(input, /*all_logits=*/true);
  LoglikelihoodResult r;
  for (size_t j = 0; j < cont.size(); ++j) {
    const auto logits = fwd.logits(int64_t(ctx.size() + j - 1));
    r.logprob -= token_nll(logits, cont[j]);
    r.is_greedy = r.is_greedy && std::max_element(logits.begin(), logits.end()) - logits.begin() == cont[j];
  }
  return r;
}

TEST(ModelScorer, EqualsAPlainForwardForSharedAndSeparateContexts) {
  const auto model = Model::load(kModel);
  ThreadPool pool(2);
  Forward fwd(*model, 64, pool);
  Forward ref(*model, 64, pool);
  ModelScorer scorer(fwd);
  const std::vector<LoglikelihoodRequest> reqs = {
      {{1, 450, 4996, 17354}, {1701, 29916, 975}},
      {{1, 310, 278}, {29871}},
      {{1, 450, 4996, 17354}, {8424}},  // shares the first context: evaluated once
      {{1, 450, 4996, 17354}, {1701, 29916}},
  };
  const auto got = scorer.score(reqs);
  ASSERT_EQ(got.size(), reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    const LoglikelihoodResult want = direct(ref, reqs[i].context, reqs[i].continuation);
    EXPECT_NEAR(got[i].logprob, want.logprob, 1e-4 * std::max(1.0, std::abs(want.logprob))) << i;
    EXPECT_EQ(got[i].is_greedy, want.is_greedy) << i;
    EXPECT_LT(got[i].logprob, 0) << i;
  }
  EXPECT_EQ(scorer.n_tokens_evaluated(), 4 + 2 + 3 + 0 + 1);  // contexts 4 and 3, inputs cont[:-1]
}

TEST(ModelScorer, TruncatesTheContextFromTheLeftToFitTheWindow) {
  const auto model = Model::load(kModel);
  ThreadPool pool(1);
  Forward fwd(*model, 8, pool);
  ModelScorer scorer(fwd);
  std::vector<int32_t> long_ctx;
  for (int i = 0; i < 20; ++i) long_ctx.push_back(100 + i);
  const std::vector<LoglikelihoodRequest> reqs = {{long_ctx, {7, 8, 9}}};
  const auto got = scorer.score(reqs);
  Forward ref(*model, 8, pool);
  const std::vector<int32_t> kept(long_ctx.end() - 6, long_ctx.end());  // 6 + 3 - 1 = 8 inputs
  EXPECT_NEAR(got[0].logprob, direct(ref, kept, {7, 8, 9}).logprob, 1e-4 * std::abs(got[0].logprob));
  EXPECT_EQ(scorer.n_truncated_continuations(), 0);
}

TEST(ModelScorer, ScoresTheLastWindowOfAContinuationLongerThanTheContext) {
  const auto model = Model::load(kModel);
  ThreadPool pool(1);
  Forward fwd(*model, 8, pool), ref(*model, 8, pool);
  ModelScorer scorer(fwd);
  std::vector<int32_t> cont;
  for (int i = 0; i < 11; ++i) cont.push_back(200 + 7 * i);
  const std::vector<LoglikelihoodRequest> reqs = {{{1, 450}, cont}};
  const auto got = scorer.score(reqs);
  // Tokens 0-2 only condition: cont[2] is the context, cont[3..10] the 8 scored tokens.
  const LoglikelihoodResult want = direct(ref, {cont[2]}, std::vector<int32_t>(cont.begin() + 3, cont.end()));
  EXPECT_NEAR(got[0].logprob, want.logprob, 1e-4 * std::abs(want.logprob));
  EXPECT_EQ(scorer.n_truncated_continuations(), 1);
}

}  // namespace
}  // namespace bitlm
