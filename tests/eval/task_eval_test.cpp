// tests/eval/task_eval_test.cpp — lm-eval tokenization and metrics on hand-made micro-examples
// whose acc / acc_norm / WinoGrande / LAMBADA numbers are worked out in the comments.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/task_eval.h"
#include "fake_scorer.h"

namespace bitlm {
namespace {

using testing::char_decode;
using testing::char_encode;
using testing::TableScorer;

TEST(MakeRequest, MovesTrailingSpacesOfTheContextToTheContinuation) {
  const LoglikelihoodRequest r = make_request(char_encode, "Answer: ", "yes", -1);
  EXPECT_EQ(char_decode(r.context), "Answer:");
  EXPECT_EQ(char_decode(r.continuation), " yes");
  const LoglikelihoodRequest t = make_request(char_encode, "a\n \n", "b", -1);
  EXPECT_EQ(char_decode(t.context), "a");
  EXPECT_EQ(char_decode(t.continuation), "\n \nb");
}

TEST(MakeRequest, ContinuationIsTheTailOfTheWholeEncodingAndBosGoesFirst) {
  // An encoder that merges "ab" into one token (id 1000), as BPE merges across the boundary.
  const TextEncoder merging = [](std::string_view text) {
    std::vector<int32_t> ids;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text.substr(i, 2) == "ab") { ids.push_back(1000); ++i; } else { ids.push_back(text[i]); }
    }
    return ids;
  };
  // enc("xa") = [x, a]; enc("xa" + "bc") = [x, ab, c] -> continuation = whole[2:] = [c].
  const LoglikelihoodRequest r = make_request(merging, "xa", "bc", 7);
  EXPECT_EQ(r.context, (std::vector<int32_t>{7, 'x', 'a'}));
  EXPECT_EQ(r.continuation, (std::vector<int32_t>{'c'}));
  // When the whole continuation merges away, it is scored on its own instead of as nothing.
  const LoglikelihoodRequest m = make_request(merging, "xa", "b", -1);
  EXPECT_EQ(m.continuation, (std::vector<int32_t>{'b'}));
}

Task multiple_choice_task() {
  Task t{"arc_easy", "mem", TaskMetrics::kAccAndNorm, {}};
  t.docs.push_back({{{"Q1", " a", 1}, {"Q1", " bbbb", 4}}, 1});
  t.docs.push_back({{{"Q2", " cc", 2}, {"Q2", " d", 1}}, 0});
  return t;
}

TEST(TaskEval, AccAndLengthNormalisedAccByHand) {
  TableScorer s;
  // Doc 1 (gold 1): ll = -2 (1 char), -4 (4 chars). acc picks 0: wrong. acc_norm: -2/1 = -2 vs
  //   -4/4 = -1 -> picks 1: right.
  s.set("Q1", " a", -2); s.set("Q1", " bbbb", -4);
  // Doc 2 (gold 0): ll = -1 (2 chars), -3 (1 char). acc: 0 right; acc_norm: -0.5 vs -3 -> 0 right.
  s.set("Q2", " cc", -1); s.set("Q2", " d", -3);
  const TaskResult r = evaluate_task(multiple_choice_task(), s, char_encode, {});
  EXPECT_TRUE(s.missing.empty()) << s.missing.front();
  EXPECT_EQ(r.n_docs, 2);
  EXPECT_DOUBLE_EQ(r.acc, 0.5);
  ASSERT_TRUE(r.acc_norm.has_value());
  EXPECT_DOUBLE_EQ(*r.acc_norm, 1.0);
  EXPECT_DOUBLE_EQ(r.acc_stderr, 0.5);  // sample std of {0,1} = sqrt(0.5); / sqrt(2) = 0.5
  EXPECT_DOUBLE_EQ(*r.acc_norm_stderr, 0.0);
  EXPECT_FALSE(r.perplexity.has_value());
}

TEST(TaskEval, TiesGoToTheFirstChoiceAndLimitCutsDocs) {
  TableScorer s;
  s.set("Q1", " a", -3); s.set("Q1", " bbbb", -3);  // tie: argmax picks 0, gold 1 -> wrong
  TaskEvalOptions o;
  o.limit = 1;
  const TaskResult r = evaluate_task(multiple_choice_task(), s, char_encode, o);
  EXPECT_EQ(r.n_docs, 1);
  EXPECT_DOUBLE_EQ(r.acc, 0.0);
  EXPECT_DOUBLE_EQ(*r.acc_norm, 1.0);  // -3/1 vs -3/4: choice 1
}

TEST(TaskEval, WinoGrandeScoresTheSharedContinuationUnderEachFilledInContext) {
  Task t{"winogrande", "mem", TaskMetrics::kAcc, {}};
  t.docs.push_back({{{"The cat", " ran.", 0}, {"The dog", " ran.", 0}}, 1});
  t.docs.push_back({{{"Ann", " won.", 0}, {"Bob", " won.", 0}}, 0});
  TableScorer s;
  s.set("The cat", " ran.", -5); s.set("The dog", " ran.", -3);  // picks 1 = gold: right
  s.set("Ann", " won.", -4); s.set("Bob", " won.", -2);          // picks 1, gold 0: wrong
  const TaskResult r = evaluate_task(t, s, char_encode, {});
  EXPECT_TRUE(s.missing.empty());
  EXPECT_DOUBLE_EQ(r.acc, 0.5);
  EXPECT_FALSE(r.acc_norm.has_value());
}

TEST(TaskEval, LambadaAccIsGreedyAndPerplexityIsExpOfMeanNll) {
  Task t{"lambada", "mem", TaskMetrics::kLastWord, {}};
  t.docs.push_back({{{"He said", " hi", 2}}, 0});
  t.docs.push_back({{{"She said", " bye", 3}}, 0});
  TableScorer s;
  s.set("He said", " hi", -1, /*greedy=*/true);
  s.set("She said", " bye", -3, /*greedy=*/false);
  const TaskResult r = evaluate_task(t, s, char_encode, {});
  EXPECT_DOUBLE_EQ(r.acc, 0.5);
  ASSERT_TRUE(r.perplexity.has_value());
  EXPECT_NEAR(*r.perplexity, std::exp(2.0), 1e-12);  // mean ll = -2
}

TEST(TaskEval, BatchesDocumentsAndReportsProgress) {
  TableScorer s;
  s.set("Q1", " a", -2); s.set("Q1", " bbbb", -4); s.set("Q2", " cc", -1); s.set("Q2", " d", -3);
  std::vector<int64_t> seen;
  TaskEvalOptions o;
  o.docs_per_batch = 1;
  o.on_progress = [&](int64_t done, int64_t total) { seen.push_back(done * 10 + total); };
  evaluate_task(multiple_choice_task(), s, char_encode, o);
  EXPECT_EQ(s.n_calls, 2);
  EXPECT_EQ(seen, (std::vector<int64_t>{12, 22}));
}

TEST(TaskEval, BosIsPrependedToEveryContext) {
  TableScorer s;
  s.set("#Q1", " a", -2); s.set("#Q1", " bbbb", -4); s.set("#Q2", " cc", -1); s.set("#Q2", " d", -3);
  TaskEvalOptions o;
  o.bos = 300;  // decodes as '#'
  const TaskResult r = evaluate_task(multiple_choice_task(), s, char_encode, o);
  EXPECT_TRUE(s.missing.empty());
  EXPECT_DOUBLE_EQ(r.acc, 0.5);
}

}  // namespace
}  // namespace bitlm
