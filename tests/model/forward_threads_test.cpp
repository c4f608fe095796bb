// tests/model/forward_threads_test.cpp — the int8 forward's fast path (norm fused with the
// quantization, row-wise steps split over the pool's threads) computes exactly the logits of the
// plain path, which a tap forces (it needs every normed float), on 1 and 2 threads, prefill and decode.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/forward.h"

namespace bitlm {
namespace {

const std::string kDir = std::string(BITLM_SHARED_DIR) + "/fixtures/tiny-bitnet/";
const std::vector<int32_t> kIds = {1, 450, 4955, 310, 278, 4272, 4689, 29871, 13, 1000, 2000, 3000};

// Every token's logits: a 7-token prefill (max_batch 5: batches of 5 and 2), then the rest one by one.
std::vector<float> run(const Model& m, int n_threads, bool with_tap) {
  ThreadPool pool(n_threads);
  Forward f(m, 64, pool, ActMode::kInt8, /*max_batch=*/5);
  if (with_tap) f.set_tap([](std::string_view, int64_t, Mat<const float>) {});
  std::vector<float> out;
  f.eval({kIds.data(), 7}, /*all_logits=*/true);
  for (int64_t i = 0; i < 7; ++i) out.insert(out.end(), f.logits(i).begin(), f.logits(i).end());
  for (size_t i = 7; i < kIds.size(); ++i) {
    f.eval({&kIds[i], 1});
    out.insert(out.end(), f.last_logits().begin(), f.last_logits().end());
  }
  return out;
}

TEST(ForwardThreads, FusedThreadedPathEqualsThePlainPathBitForBit) {
  const auto m = Model::load(kDir + "tiny-bitnet-TQ2_0.gguf");
  const std::vector<float> plain = run(*m, 1, /*with_tap=*/true);
  EXPECT_TRUE(run(*m, 1, false) == plain);
  EXPECT_TRUE(run(*m, 2, false) == plain);
  EXPECT_TRUE(run(*m, 2, true) == plain);
}

}  // namespace
}  // namespace bitlm
