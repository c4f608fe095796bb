// tests/model/fixture_test.cpp — the acceptance tests on shared/fixtures/tiny-bitnet (see its
// README): greedy continuations against the values llama.cpp / bitnet.cpp printed in expected.json
// (their perplexity: tests/eval/fixture_perplexity_test.cpp). Token ids come from expected.json, so
// these tests do not depend on the tokenizer; texts are compared through the file's vocab.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "model/forward.h"
#include "model/sampler.h"

namespace bitlm {
namespace {

const std::string kDir = std::string(BITLM_SHARED_DIR) + "/fixtures/tiny-bitnet/";

nlohmann::json expected() { return nlohmann::json::parse(std::ifstream(kDir + "expected.json")); }

// SentencePiece pieces joined, with '▁' as a space (enough for these vocab entries).
std::string detokenize(const GgufFile& f, const std::vector<int32_t>& ids) {
  const auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  static constexpr std::string_view kSpace = "\xe2\x96\x81";
  std::string s;
  for (int32_t id : ids) {  // appended, not replace()d in place: GCC 12 warned (-Wrestrict), wrongly
    const std::string_view piece = tokens.at(size_t(id));
    for (size_t i = 0; i < piece.size(); ++i) {
      if (piece.substr(i, kSpace.size()) == kSpace) {
        s += ' ';
        i += kSpace.size() - 1;
      } else {
        s += piece[i];
      }
    }
  }
  return s;
}

std::vector<int32_t> greedy(Forward& fwd, const std::vector<int32_t>& prompt, int n) {
  SamplerParams p;
  p.temperature = 0;
  Sampler sampler(p, fwd.config().n_vocab);
  std::vector<int32_t> hist = prompt, out;
  fwd.kv().clear();
  fwd.eval(prompt);
  for (int i = 0; i < n; ++i) {
    const int32_t id = sampler.sample(fwd.last_logits(), hist);
    hist.push_back(id);
    out.push_back(id);
    if (i + 1 < n) fwd.eval({&id, 1});
  }
  return out;
}

TEST(TinyBitnet, FullPrecisionGreedyMatchesLlamaCpp) {
  const auto e = expected();
  const auto m = Model::load(kDir + "tiny-bitnet-F32.gguf");
  ThreadPool pool(2);
  Forward fwd(*m, 256, pool, ActMode::kNone);
  const auto prompt = e["tokenizer"]["prompt_ids_with_bos"].get<std::vector<int32_t>>();
  const std::string want = e["greedy_24_tokens"]["activations_full_precision (llama.cpp, F32 file)"];
  EXPECT_EQ(detokenize(*m->file, greedy(fwd, prompt, 24)), want);
}

// How many leading tokens of `ids` spell a prefix of `want`.
size_t matching_tokens(const GgufFile& f, const std::vector<int32_t>& ids, const std::string& want) {
  size_t n = 0;
  while (n < ids.size()) {
    const std::string s = detokenize(f, {ids.begin(), ids.begin() + long(n + 1)});
    if (want.compare(0, s.size(), s) != 0) break;
    ++n;
  }
  return n;
}

// Int8 activations. Perplexity at c = 128 on this random model is ~3e17 (mean NLL 40 nats), so
// 1% of perplexity is 0.01 nats of mean NLL, and with int8 activations any last-bit change
// upstream (a value crossing a rounding boundary) moves it by ~1%: the int8 path is chaotic at
// that level, unlike the f32 path. The greedy continuation is near a tie at its 10th token (the
// F32 and int8 continuations part there). What decided it: llama.cpp ran with flash attention
// (its CPU default now), whose f16 P.V accumulator and f16 Q reproduce the peers; the F32 file
// confirms it (--act none: ppl 0.99918 of llama.cpp's -> 1.00007 with q-f16,flash-f16).
// Measured (ternary values decode identically, so each row holds for TQ1_0, TQ2_0 and I2_S):
//   numerics                                   tokens of 24   ppl / llama.cpp TQ ppl
//   paper (per-token, f32 Q and softmax)             20           0.9697
//   + q-f16                                          24           0.9817
//   + probs-f16                                      24           0.9723
//   + q-f16 + probs-f16 + head-q8_0 (bitnet.cpp)     20           0.9826
//   + q-f16 + flash-f16 + head-q8_0                  20           0.9932
//   q8k only                                          9           0.9833
//   q8k + q-f16 + probs-f16 + head-q8_0              16           0.9912
//   q8k + q-f16 + flash-f16 + head-q8_0 (llama.cpp)  24           1.0004
// head-q8_0 moves perplexity by < 0.01%. bitnet.cpp's own perplexity is not in expected.json.
struct Int8Case {
  const char* file;
  const char* numerics;
  size_t min_tokens;
};

class TinyBitnetInt8 : public testing::TestWithParam<Int8Case> {};

TEST_P(TinyBitnetInt8, GreedyPrefixMatchesPeers) {
  const Int8Case c = GetParam();
  const auto e = expected();
  const auto m = Model::load(kDir + c.file);
  ThreadPool pool(2);
  Forward fwd(*m, 256, pool, ActMode::kInt8);
  fwd.set_numerics(PeerNumerics::parse(c.numerics));
  const auto prompt = e["tokenizer"]["prompt_ids_with_bos"].get<std::vector<int32_t>>();
  const std::string want = e["greedy_24_tokens"]["activations_int8 (llama.cpp TQ1_0/TQ2_0 files and bitnet.cpp I2_S file)"];
  const auto ids = greedy(fwd, prompt, 24);
  EXPECT_GE(matching_tokens(*m->file, ids, want), c.min_tokens) << detokenize(*m->file, ids);
}

// Acceptance (issue): >= 16 tokens and perplexity within 2% on all three files, reached by the
// llama.cpp preset (24 tokens, +0.04%) and the bitnet.cpp one on its own file (20 tokens, -1.7%);
// the paper's math (the default) gives 20 tokens, its perplexity 3.0% below (not asserted).
INSTANTIATE_TEST_SUITE_P(Files, TinyBitnetInt8,
                         testing::Values(Int8Case{"tiny-bitnet-TQ1_0.gguf", "llama.cpp", 16},
                                         Int8Case{"tiny-bitnet-TQ2_0.gguf", "llama.cpp", 16},
                                         Int8Case{"tiny-bitnet-I2_S.gguf", "llama.cpp", 16},
                                         Int8Case{"tiny-bitnet-I2_S.gguf", "bitnet.cpp", 16},
                                         Int8Case{"tiny-bitnet-TQ2_0.gguf", "paper", 16}));

TEST(TinyBitnet, PeerNumericsParseAndRefuseUnknownNames) {
  const PeerNumerics p = PeerNumerics::parse("q8k,head-q8_0");
  EXPECT_EQ(p.act_quant, ActQuant::kQ8K);
  EXPECT_TRUE(p.head_q8_0);
  EXPECT_FALSE(p.q_f16 || p.probs_f16);
  EXPECT_EQ(PeerNumerics::parse("bitnet.cpp").act_quant, ActQuant::kPerToken);
  EXPECT_TRUE(PeerNumerics::parse("llama.cpp").flash_f16);
  EXPECT_FALSE(PeerNumerics::parse("llama.cpp").probs_f16);
  EXPECT_THROW(PeerNumerics::parse("q8k,fp8"), UserError);
}

TEST(TinyBitnet, PrefillInBatchesEqualsTokenByToken) {
  const auto m = Model::load(kDir + "tiny-bitnet-TQ2_0.gguf");
  ThreadPool pool(2);
  Forward a(*m, 64, pool, ActMode::kInt8, /*max_batch=*/5), b(*m, 64, pool, ActMode::kInt8, 1);
  const std::vector<int32_t> ids = {1, 450, 4955, 310, 278, 4272, 4689, 29871, 13, 1000, 2000, 3000};
  a.eval(ids, /*all_logits=*/true);
  for (size_t i = 0; i < ids.size(); ++i) {
    b.eval({&ids[i], 1});
    const auto la = a.logits(int64_t(i)), lb = b.last_logits();
    for (size_t v = 0; v < la.size(); v += 97) ASSERT_NEAR(la[v], lb[v], 1e-3f * (1 + std::fabs(lb[v]))) << i;
  }
}

}  // namespace
}  // namespace bitlm
