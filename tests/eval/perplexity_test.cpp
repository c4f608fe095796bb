// tests/eval/perplexity_test.cpp — sliding windows (every token scored once, with enough
// context), perplexity, and bits per byte against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "core/error.h"
#include "eval/perplexity.h"
#include "fake_scorer.h"

namespace bitlm {
namespace {

using testing::char_encode;

std::vector<int32_t> iota_tokens(int n) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), 0);
  return t;
}

TEST(PerplexityWindows, BosFirstThenStridedWithFullContext) {
  PerplexityOptions o;
  o.n_ctx = 4;
  o.stride = 2;
  o.bos = 100;
  const auto w = perplexity_windows(iota_tokens(10), o);
  using V = std::vector<int32_t>;
  ASSERT_EQ(w.size(), 5u);
  EXPECT_EQ(w[0].context, (V{100}));      EXPECT_EQ(w[0].continuation, (V{0, 1, 2}));
  EXPECT_EQ(w[1].context, (V{1, 2}));     EXPECT_EQ(w[1].continuation, (V{3, 4}));
  EXPECT_EQ(w[2].context, (V{3, 4}));     EXPECT_EQ(w[2].continuation, (V{5, 6}));
  EXPECT_EQ(w[3].context, (V{5, 6}));     EXPECT_EQ(w[3].continuation, (V{7, 8}));
  EXPECT_EQ(w[4].context, (V{6, 7, 8}));  EXPECT_EQ(w[4].continuation, (V{9}));
}

TEST(PerplexityWindows, EveryTokenScoredOnceAndNoWindowExceedsTheContext) {
  for (const int32_t bos : {-1, 7})
    for (const int64_t ctx : {2, 3, 16})
      for (int64_t stride = 1; stride < ctx; ++stride)
        for (const int n : {1, 2, 5, 33}) {
          PerplexityOptions o;
          o.n_ctx = ctx;
          o.stride = stride;
          o.bos = bos;
          std::vector<int32_t> scored;
          for (const LoglikelihoodRequest& r : perplexity_windows(iota_tokens(n), o)) {
            EXPECT_LE(int64_t(r.context.size() + r.continuation.size()), ctx);
            EXPECT_FALSE(r.context.empty());
            scored.insert(scored.end(), r.continuation.begin(), r.continuation.end());
          }
          const std::vector<int32_t> all = iota_tokens(n);
          const std::vector<int32_t> expect(all.begin() + (bos >= 0 ? 0 : 1), all.end());
          EXPECT_EQ(scored, expect) << "ctx " << ctx << " stride " << stride << " n " << n << " bos " << bos;
        }
}

TEST(PerplexityWindows, LlamaChunksScoreTheSecondHalfAfterBos) {
  const auto w = llama_chunk_windows(iota_tokens(13), 6, 100);  // two chunks of 6, one token dropped
  using V = std::vector<int32_t>;
  ASSERT_EQ(w.size(), 2u);
  // Positions 3 and 4 of each chunk predict tokens 4 and 5: input chunk[0, 5), BOS at 0.
  EXPECT_EQ(w[0].context, (V{100, 1, 2, 3}));  EXPECT_EQ(w[0].continuation, (V{4, 5}));
  EXPECT_EQ(w[1].context, (V{100, 7, 8, 9}));  EXPECT_EQ(w[1].continuation, (V{10, 11}));
  EXPECT_EQ(llama_chunk_windows(iota_tokens(13), 6, -1)[1].context, (V{6, 7, 8, 9}));
  EXPECT_THROW(llama_chunk_windows(iota_tokens(5), 6, 100), UserError);  // not one chunk
  EXPECT_THROW(llama_chunk_windows(iota_tokens(20), 3, 100), UserError);
}

TEST(PerplexityWindows, RejectsBadStride) {
  PerplexityOptions o;
  o.n_ctx = 8;
  o.stride = 8;
  EXPECT_THROW(perplexity_windows(iota_tokens(20), o), UserError);
  o.n_ctx = 1;
  o.stride = 0;
  EXPECT_THROW(perplexity_windows(iota_tokens(20), o), UserError);
}

// Every token costs exactly one bit.
class OneBitPerToken : public Scorer {
 public:
  std::vector<LoglikelihoodResult> score(std::span<const LoglikelihoodRequest> requests) override {
    std::vector<LoglikelihoodResult> out;
    for (const auto& r : requests) out.push_back({-double(r.continuation.size()) * std::log(2.0), false});
    return out;
  }
};

TEST(Perplexity, OneBitPerTokenGivesPerplexityTwoAndBitsPerByte) {
  OneBitPerToken s;
  PerplexityOptions o;
  o.n_ctx = 8;
  o.bos = 300;
  // Two documents, 10 + 5 bytes; the char "tokenizer" has 1 token per byte; BOS scores all.
  const std::vector<std::string> docs = {"0123456789", "abcde"};
  const PerplexityStats r = perplexity(docs, s, char_encode, o);
  EXPECT_EQ(r.n_docs, 2);
  EXPECT_EQ(r.n_tokens, 15);
  EXPECT_EQ(r.n_bytes, 15);
  EXPECT_NEAR(r.perplexity(), 2.0, 1e-12);
  EXPECT_NEAR(r.bits_per_byte(), 1.0, 1e-12);
  // A tokenizer with 2 bytes per token: 5 + 3 tokens, 8 bits over 15 bytes.
  const TextEncoder pairs = [](std::string_view t) { return std::vector<int32_t>((t.size() + 1) / 2, 1); };
  const PerplexityStats p = perplexity(docs, s, pairs, o);
  EXPECT_EQ(p.n_tokens, 8);
  EXPECT_NEAR(p.perplexity(), 2.0, 1e-12);
  EXPECT_NEAR(p.bits_per_byte(), 8.0 / 15.0, 1e-12);
}

TEST(Perplexity, ReadDocumentsSplitsTinyStoriesSeparators) {
  const auto path = (std::filesystem::temp_directory_path() / "bitlm_ppl_docs.txt").string();
  std::ofstream(path, std::ios::binary) << "One.\nTwo.\n<|endoftext|>\nThree.\n<|endoftext|>\n";
  EXPECT_EQ(read_documents(path), (std::vector<std::string>{"One.\nTwo.", "Three."}));
  std::ofstream(path, std::ios::binary) << " = Title = \n\n text\n";
  EXPECT_EQ(read_documents(path), (std::vector<std::string>{" = Title = \n\n text\n"}));
  EXPECT_THROW(read_documents("/nonexistent/x.txt"), IoError);
}

TEST(Perplexity, SharedDataFilesReadAsDocuments) {
  const std::string data = std::string(BITLM_SHARED_DIR) + "/data";
  EXPECT_EQ(read_documents(data + "/tinystories/valid.txt").size(), 1837u);
  const auto wiki = read_documents(data + "/wikitext-2/wiki.test.raw");
  ASSERT_EQ(wiki.size(), 1u);
  EXPECT_EQ(wiki[0].size(), 1290590u);
}

}  // namespace
}  // namespace bitlm
