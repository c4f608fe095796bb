// tests/model/fixture_test.cpp — the acceptance tests on shared/fixtures/tiny-bitnet (see its
// README): greedy continuations and llama-perplexity-style perplexity (c = 128) against the
// values llama.cpp / bitnet.cpp printed in expected.json. Token ids come from expected.json, so
// these tests do not depend on the tokenizer; texts are compared through the file's vocab.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "model/forward.h"
#include "model/perplexity.h"
#include "model/sampler.h"

namespace bitlm {
namespace {

const std::string kDir = std::string(BITLM_SHARED_DIR) + "/fixtures/tiny-bitnet/";

nlohmann::json expected() { return nlohmann::json::parse(std::ifstream(kDir + "expected.json")); }

// SentencePiece pieces joined, with '▁' as a space (enough for these vocab entries).
std::string detokenize(const GgufFile& f, const std::vector<int32_t>& ids) {
  const auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  std::string s;
  for (int32_t id : ids) s += tokens.at(size_t(id));
  for (size_t p; (p = s.find("\xe2\x96\x81")) != std::string::npos;) s.replace(p, 3, " ");
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

// Leading UTF-8 characters shared by a and b, whole tokens only being compared via text.
size_t common_prefix(const std::string& a, const std::string& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

double c128_perplexity(Forward& fwd, const nlohmann::json& e) {
  const auto ids = e["tokenizer"]["text_ids_with_bos"].get<std::vector<int32_t>>();
  const PerplexityResult r = perplexity_llama_chunks(fwd, ids, 128, /*bos=*/1);
  EXPECT_EQ(r.n_scored, 2079);  // 33 chunks x 63, as the README counts
  return r.ppl();
}

TEST(TinyBitnet, FullPrecisionGreedyAndPerplexityMatchLlamaCpp) {
  const auto e = expected();
  const auto m = Model::load(kDir + "tiny-bitnet-F32.gguf");
  ThreadPool pool(2);
  Forward fwd(*m, 256, pool, ActMode::kNone);
  const auto prompt = e["tokenizer"]["prompt_ids_with_bos"].get<std::vector<int32_t>>();
  const std::string want = e["greedy_24_tokens"]["activations_full_precision (llama.cpp, F32 file)"];
  EXPECT_EQ(detokenize(*m->file, greedy(fwd, prompt, 24)), want);
  const double want_ppl = e["perplexity_llama_cpp_c128"]["F32"];
  EXPECT_NEAR(c128_perplexity(fwd, e), want_ppl, 0.005 * want_ppl);
}

// Int8 activations (003 eq. 6-7, per token). The expected continuation agrees with the full
// precision one for 10 tokens. Measured: our per-token int8 on the TQ/I2_S files reproduces 9
// of them and perplexity within 3.5% of llama.cpp's TQ values: llama.cpp quantizes per 256-block
// (ffn_down's 768 inputs get 3 scales), rounds Q to f16 in attention, and the Q8_0 head sees a
// Q8_0 hidden state; perplexities near 3e17 (ln = 40) move by ~1% from such last-bit changes.
class TinyBitnetInt8 : public testing::TestWithParam<const char*> {};

TEST_P(TinyBitnetInt8, GreedyPrefixAndPerplexityCloseToLlamaCpp) {
  const auto e = expected();
  const auto m = Model::load(kDir + GetParam());
  ThreadPool pool(2);
  Forward fwd(*m, 256, pool, ActMode::kInt8);
  const auto prompt = e["tokenizer"]["prompt_ids_with_bos"].get<std::vector<int32_t>>();
  const std::string want = e["greedy_24_tokens"]["activations_int8 (llama.cpp TQ1_0/TQ2_0 files and bitnet.cpp I2_S file)"];
  const std::string got = detokenize(*m->file, greedy(fwd, prompt, 24));
  EXPECT_GE(common_prefix(got, want), std::string(" Tri varios extrsetupüll póetta mysql").size()) << got;
  const double want_ppl = e["perplexity_llama_cpp_c128"]["TQ2_0"];
  EXPECT_NEAR(c128_perplexity(fwd, e), want_ppl, 0.035 * want_ppl);
}

INSTANTIATE_TEST_SUITE_P(Files, TinyBitnetInt8,
                         testing::Values("tiny-bitnet-TQ1_0.gguf", "tiny-bitnet-TQ2_0.gguf", "tiny-bitnet-I2_S.gguf"));

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
