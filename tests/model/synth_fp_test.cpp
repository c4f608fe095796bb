// tests/model/synth_fp_test.cpp — `synth --weight-type f16` writes the fp twin of a shape (issue 13's
// 8 GiB table: the b1.58 model beside its FP16 twin): weight_mode "fp", F16 linear weights
// N(0, 1/cols), loaded as dense matmuls, and its rows' logits are the same alone or batched.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "core/ggml_types.h"
#include "core/thread_pool.h"
#include "io/gguf.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/synth.h"

namespace bitlm {
namespace {

std::string tmp(const std::string& name) { return testing::TempDir() + "synth_fp_" + name; }

TEST(SynthFp, WritesAnFpModelOfTheShape) {
  const ModelConfig c = write_synth_model({.shape = "tiny", .seed = 5, .weight_type = kGgmlF16}, tmp("tiny.gguf"));
  EXPECT_TRUE(c.fp_linear);
  const auto f = GgufFile::open(tmp("tiny.gguf"));
  const GgufTensorInfo& q = *f->find_tensor("blk.0.attn_q.weight");
  EXPECT_EQ(q.type, kGgmlF16);
  // N(0, 1/cols): activations keep unit scale, as the ternary weights' 1/sqrt(2/3 cols) scale gives.
  const auto bytes = f->tensor_data(q);
  const auto* h = reinterpret_cast<const uint16_t*>(bytes.data());
  const size_t n = bytes.size() / 2;
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += double(fp16_to_f32(h[i])) * fp16_to_f32(h[i]);
  EXPECT_NEAR(std::sqrt(ss / double(n)) * std::sqrt(double(q.ne[0])), 1.0, 0.02);

  const auto m = Model::load(tmp("tiny.gguf"));
  EXPECT_TRUE(m->config.fp_linear);
  EXPECT_EQ(m->config.n_embd, 256);
  for (const LinearWeights* w : m->weights.layers[1].linears()) EXPECT_TRUE(w->is_fp());
  write_synth_model({.shape = "tiny", .seed = 5}, tmp("tiny_t2.gguf"));  // its ternary twin: as many weights
  EXPECT_EQ(m->weights.n_linear_params(), Model::load(tmp("tiny_t2.gguf"))->weights.n_linear_params());
}

TEST(SynthFp, RowsGiveTheSameLogitsAloneOrBatched) {
  write_synth_model({.shape = "tiny", .seed = 6, .weight_type = kGgmlF16}, tmp("tiny6.gguf"));
  const auto m = Model::load(tmp("tiny6.gguf"));
  ThreadPool pool(2);
  const std::vector<int32_t> a = {1, 72, 101, 108}, b = {1, 33, 34, 35, 36, 37}, c = {1, 200};
  Forward alone(*m, 64, pool, ActMode::kInt8, 16, KvCacheType::kF16, 1);
  alone.eval(a);
  std::vector<float> want(alone.last_logits().begin(), alone.last_logits().end());
  for (float v : want) ASSERT_TRUE(std::isfinite(v));
  Forward batched(*m, 64, pool, ActMode::kInt8, 16, KvCacheType::kF16, 3);
  const std::vector<SeqTokens> batch = {{0, b, true}, {1, a, true}, {2, c, true}};
  batched.eval_seqs(batch);
  const auto got = batched.seq_logits(1);
  EXPECT_EQ(std::vector<float>(got.begin(), got.end()), want);
}

}  // namespace
}  // namespace bitlm
