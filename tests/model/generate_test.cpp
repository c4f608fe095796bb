// tests/model/generate_test.cpp — generate_continuing (a chat's next turn): it prefills only what
// the KV cache does not hold, and its tokens equal generate_tokens' on the whole prompt, for a
// conversation that grows, one whose earlier tokens change, and a prompt the cache already holds.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "model/generate.h"
#include "model/model.h"

namespace bitlm {
namespace {

const std::string kModel = std::string(BITLM_SHARED_DIR) + "/fixtures/tiny-bitnet/tiny-bitnet-TQ2_0.gguf";

struct Turn {
  std::vector<int32_t> tokens;
  GenerateStats stats;
};

SamplerParams greedy() {
  SamplerParams p;
  p.temperature = 0;
  p.repeat_penalty = 1.1f;  // the history (prompt included) must be the whole prompt's
  return p;
}

Turn whole(const Model& m, ThreadPool& pool, const std::vector<int32_t>& prompt, int64_t n) {
  Forward f(m, 64, pool, ActMode::kInt8, 32, KvCacheType::kF16);
  Turn r;
  r.stats = generate_tokens(
      f, prompt, n, greedy(), [](int32_t) { return false; },
      [&](int32_t id) {
        r.tokens.push_back(id);
        return true;
      });
  return r;
}

Turn turn(Forward& f, std::vector<int32_t>& cached, const std::vector<int32_t>& prompt, int64_t n) {
  Turn r;
  r.stats = generate_continuing(
      f, cached, prompt, n, greedy(), [](int32_t) { return false; },
      [&](int32_t id) {
        r.tokens.push_back(id);
        return true;
      });
  return r;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(GenerateContinuing, PrefillsOnlyWhatTheCacheLacksAndEqualsAWholeRun) {
  const auto m = Model::load(kModel);
  ThreadPool pool(1);
  Forward f(*m, 64, pool, ActMode::kInt8, 32, KvCacheType::kF16);
  std::vector<int32_t> cached;

  const std::vector<int32_t> turn1 = {1, 450, 4996, 17354, 1701, 432};
  const Turn a = turn(f, cached, turn1, 5);
  EXPECT_EQ(a.tokens, whole(*m, pool, turn1, 5).tokens);
  EXPECT_EQ(a.stats.n_reused, 0);
  EXPECT_EQ(a.stats.n_prompt, 6);
  // the cache holds the prompt and every generated token but the last (sampled, never run)
  std::vector<int32_t> held = concat(turn1, a.tokens);
  held.pop_back();
  EXPECT_EQ(cached, held);

  // the next turn: the conversation so far, then new tokens; only those and the last reply token run
  const std::vector<int32_t> turn2 = concat(concat(turn1, a.tokens), {13, 2659, 29901});
  const Turn b = turn(f, cached, turn2, 5);
  EXPECT_EQ(b.tokens, whole(*m, pool, turn2, 5).tokens);
  EXPECT_EQ(b.stats.n_reused, 10);
  EXPECT_EQ(b.stats.n_prompt, 4);

  // an earlier token changed (a re-tokenized reply): the cache is kept up to it only
  std::vector<int32_t> turn3 = concat(turn2, b.tokens);
  turn3[8] = turn3[8] == 306 ? 307 : 306;
  const Turn c = turn(f, cached, turn3, 4);
  EXPECT_EQ(c.tokens, whole(*m, pool, turn3, 4).tokens);
  EXPECT_EQ(c.stats.n_reused, 8);
  EXPECT_EQ(c.stats.n_prompt, int64_t(turn3.size()) - 8);

  // the same prompt again: its last token runs again for the logits
  const Turn d = turn(f, cached, turn3, 4);
  EXPECT_EQ(d.tokens, c.tokens);
  EXPECT_EQ(d.stats.n_reused, int64_t(turn3.size()) - 1);
  EXPECT_EQ(d.stats.n_prompt, 1);
}

TEST(GenerateContinuing, APromptPastTheContextLeavesNothingReusable) {
  const auto m = Model::load(kModel);
  ThreadPool pool(1);
  Forward f(*m, 16, pool, ActMode::kInt8, 32, KvCacheType::kF16);
  std::vector<int32_t> cached;
  const std::vector<int32_t> prompt = {1, 450, 4996, 17354};
  const Turn a = turn(f, cached, prompt, 3);
  EXPECT_FALSE(cached.empty());
  EXPECT_THROW(turn(f, cached, std::vector<int32_t>(20, 450), 3), UserError);
  EXPECT_TRUE(cached.empty());
  EXPECT_EQ(turn(f, cached, prompt, 3).tokens, a.tokens);
}

}  // namespace
}  // namespace bitlm
