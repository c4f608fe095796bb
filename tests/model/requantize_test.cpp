// tests/model/requantize_test.cpp — requantize_embedding re-encodes token_embd only: every other
// tensor and key is copied unchanged, F16 -> F32 -> F16 gives back the same bytes, a Q6_K file
// loads and runs, a Q4_0 head tracks the F16 logits, and a row length Q6_K cannot hold is a
// UserError naming the tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "core/ggml_types.h"
#include "io/gguf.h"
#include "model/config.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/requantize.h"
#include "model/synth.h"

namespace bitlm {
namespace {

SynthOptions synth(const char* shape) {
  SynthOptions o;
  o.shape = shape;
  o.seed = 5;
  return o;
}

std::vector<uint8_t> bytes_of(const GgufFile& f, std::string_view name) {
  const auto d = f.tensor_data(*f.find_tensor(name));
  return {d.begin(), d.end()};
}

TEST(RequantizeEmbedding, ReencodesOnlyTheEmbeddingAndRoundTripsF16) {
  const std::string dir = testing::TempDir();
  const std::string f16 = dir + "requant_f16.gguf", f32 = dir + "requant_f32.gguf", back = dir + "requant_back.gguf",
                    q6k = dir + "requant_q6k.gguf";
  write_synth_model(synth("tiny"), f16);
  EXPECT_EQ(requantize_embedding(f16, f32, kGgmlF32), 1);  // tied: one tensor
  requantize_embedding(f32, back, kGgmlF16);
  requantize_embedding(f16, q6k, kGgmlQ6_K);
  const auto a = GgufFile::open(f16), b = GgufFile::open(back), q = GgufFile::open(q6k);
  EXPECT_EQ(bytes_of(*a, kBitnetTensors.gguf_name(TensorRole::kTokenEmbd)), bytes_of(*b, kBitnetTensors.gguf_name(TensorRole::kTokenEmbd)));
  EXPECT_EQ(q->find_tensor(kBitnetTensors.gguf_name(TensorRole::kTokenEmbd))->type, kGgmlQ6_K);
  EXPECT_EQ(a->metadata().size(), q->metadata().size());
  ASSERT_EQ(a->tensors().size(), q->tensors().size());
  for (const auto& t : a->tensors()) {
    if (t.name == kBitnetTensors.gguf_name(TensorRole::kTokenEmbd)) continue;
    EXPECT_EQ(bytes_of(*a, t.name), bytes_of(*q, t.name)) << t.name;
  }

  const auto model = Model::load(q6k);
  ThreadPool pool(1);
  Forward fwd(*model, 16, pool);
  const std::vector<int32_t> tokens = {1, 72, 101, 108};
  fwd.eval(tokens, /*all_logits=*/false);
  for (float v : fwd.last_logits()) ASSERT_TRUE(std::isfinite(v));
}

TEST(RequantizeEmbedding, RowsThatDoNotFitTheBlockAreAUserError) {
  const std::string micro = testing::TempDir() + "requant_micro.gguf";
  write_synth_model(synth("micro"), micro);  // D = 128: not a whole Q6_K block
  try {
    requantize_embedding(micro, micro + ".out", kGgmlQ6_K);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("token_embd.weight"), std::string::npos) << e.what();
  }
  EXPECT_THROW(requantize_embedding(micro, micro + ".out", kGgmlQ4_1), UserError);  // not a head type
}

// A Q4_0 head (4.5 bits) runs and its logits stay close to the F16 file's: the head dot is
// llama.cpp's Q4_0 x Q8_0 (quant/kernels.h DotQ8Q8).
TEST(RequantizeEmbedding, Q4_0HeadLoadsAndTracksTheF16Logits) {
  const std::string dir = testing::TempDir();
  const std::string f16 = dir + "requant_q4_f16.gguf", q4 = dir + "requant_q4_0.gguf";
  write_synth_model(synth("tiny"), f16);
  EXPECT_EQ(requantize_embedding(f16, q4, kGgmlQ4_0), 1);
  EXPECT_EQ(GgufFile::open(q4)->find_tensor(kBitnetTensors.gguf_name(TensorRole::kTokenEmbd))->type, kGgmlQ4_0);
  const auto a = Model::load(f16), b = Model::load(q4);
  ThreadPool pool(1);
  Forward fa(*a, 16, pool), fb(*b, 16, pool);
  const std::vector<int32_t> tokens = {1, 72, 101, 108};
  fa.eval(tokens, /*all_logits=*/false);
  fb.eval(tokens, /*all_logits=*/false);
  const auto la = fa.last_logits(), lb = fb.last_logits();
  ASSERT_EQ(la.size(), lb.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < la.size(); ++i) {
    ASSERT_TRUE(std::isfinite(lb[i]));
    num += (double(la[i]) - lb[i]) * (double(la[i]) - lb[i]);
    den += double(la[i]) * la[i];
  }
  EXPECT_LT(std::sqrt(num / den), 0.3);  // 4-bit rows of N(0, 1) values: ~8% error per weight (a wrong nibble order: ~140%)
  EXPECT_GT(std::sqrt(num / den), 0.0);  // and not the F16 head itself
}

}  // namespace
}  // namespace bitlm
