// tests/model/batched_forward_test.cpp — Forward::eval_seqs (continuous batching): a sequence's
// logits are bit-identical whether it runs alone through eval() or in steps beside other
// sequences, with its prompt in chunks and the others joining and leaving at other steps, for
// every KV cache type and both activation modes, on 1 and 2 threads.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/forward.h"

namespace bitlm {
namespace {

const std::string kModel = std::string(BITLM_SHARED_DIR) + "/fixtures/tiny-bitnet/tiny-bitnet-TQ2_0.gguf";

struct Stream {
  std::vector<int32_t> tokens;  // teacher-forced: the prompt, then the tokens "generated"
  size_t n_prompt = 0;
  int64_t first_step = 0;  // the step at which it joins the batch
};

std::vector<Stream> streams() {
  std::vector<Stream> s(3);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 14 + 3 * i; ++j) s[size_t(i)].tokens.push_back(int32_t(1 + (977 * (i + 1) * (j + 3)) % 30000));
    s[size_t(i)].n_prompt = size_t(5 + 2 * i);
    s[size_t(i)].first_step = 2 * i;
  }
  return s;
}

// Logits after each eval of one stream alone: the whole prompt, then one token at a time.
std::vector<std::vector<float>> alone(const Model& m, const Stream& s, ThreadPool& pool, ActMode act, KvCacheType kv) {
  Forward f(m, 64, pool, act, 32, kv);
  std::vector<std::vector<float>> out;
  f.eval({s.tokens.data(), s.n_prompt});
  out.emplace_back(f.last_logits().begin(), f.last_logits().end());
  for (size_t i = s.n_prompt; i < s.tokens.size(); ++i) {
    f.eval({&s.tokens[i], 1});
    out.emplace_back(f.last_logits().begin(), f.last_logits().end());
  }
  return out;
}

// The same streams stepped together: each step gives every joined stream either its next prompt
// chunk (3 tokens) or its next token.
std::vector<std::vector<std::vector<float>>> batched(const Model& m, const std::vector<Stream>& ss, ThreadPool& pool,
                                                     ActMode act, KvCacheType kv) {
  Forward f(m, 64, pool, act, 8, kv, /*n_seq=*/int64_t(ss.size()));
  std::vector<std::vector<std::vector<float>>> out(ss.size());
  std::vector<size_t> done(ss.size(), 0);
  for (int64_t step = 0;; ++step) {
    std::vector<SeqTokens> batch;
    std::vector<size_t> who;
    for (size_t i = 0; i < ss.size(); ++i) {
      const Stream& s = ss[i];
      if (step < s.first_step || done[i] == s.tokens.size()) continue;
      const size_t n = done[i] < s.n_prompt ? std::min<size_t>(3, s.n_prompt - done[i]) : 1;
      const bool logits = done[i] + n >= s.n_prompt;
      batch.push_back({int64_t(i), {s.tokens.data() + done[i], n}, logits});
      who.push_back(i);
      done[i] += n;
    }
    if (batch.empty()) break;
    f.eval_seqs(batch);
    for (size_t b = 0; b < batch.size(); ++b)
      if (batch[b].want_logits) out[who[b]].emplace_back(f.seq_logits(int64_t(b)).begin(), f.seq_logits(int64_t(b)).end());
  }
  return out;
}

TEST(BatchedForward, EachSequenceEqualsItsRunAloneBitForBit) {
  const auto m = Model::load(kModel);
  const std::vector<Stream> ss = streams();
  struct Config { int n_threads; ActMode act; KvCacheType kv; };
  for (const Config c : {Config{2, ActMode::kInt8, KvCacheType::kF16}, Config{2, ActMode::kInt8, KvCacheType::kQ8},
                         Config{2, ActMode::kInt8, KvCacheType::kQ4}, Config{1, ActMode::kInt8, KvCacheType::kF16},
                         Config{2, ActMode::kNone, KvCacheType::kF16}}) {
    ThreadPool pool(c.n_threads);
    const auto together = batched(*m, ss, pool, c.act, c.kv);
    for (size_t i = 0; i < ss.size(); ++i)
      EXPECT_TRUE(together[i] == alone(*m, ss[i], pool, c.act, c.kv))
          << "stream " << i << ", " << c.n_threads << " threads, kv " << kv_type_name(c.kv)
          << (c.act == ActMode::kNone ? ", act none" : ", act int8");
  }
}

TEST(BatchedForward, SequencesKeepTheirOwnCaches) {
  const auto m = Model::load(kModel);
  ThreadPool pool(1);
  Forward f(*m, 32, pool, ActMode::kInt8, 8, KvCacheType::kF16, 2);
  const int32_t a[] = {1, 2, 3}, b[] = {4, 5};
  const SeqTokens step[] = {{0, a, true}, {1, b, false}};
  f.eval_seqs(step);
  EXPECT_EQ(f.kv(0).n_pos(), 3);
  EXPECT_EQ(f.kv(1).n_pos(), 2);
  const int32_t too_long[40] = {};
  const SeqTokens overflow[] = {{1, too_long, true}};
  EXPECT_THROW(f.eval_seqs(overflow), UserError);
}

}  // namespace
}  // namespace bitlm
