// tests/model/peer_types_test.cpp — bitlm writes the peers' ternary types (issue 14 item 3):
// synth and quantize write TQ2_0 / TQ1_0 with the same codes, a TQ1_0 file runs in load_layout's
// layout (BITLM_LAYOUT=file: T1, 1.6 bits) with the same logits as the TQ2_0 file of the same weights, the arch
// becomes the one the peers run (a ReLU^2 `bitnet` model as `bitnet-b1.58`), and a quantize back to
// T2 gives the original codes with the scale rounded to the TQ blocks' fp16 d.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "core/fp16.h"
#include "core/ggml_types.h"
#include "core/thread_pool.h"
#include "io/gguf.h"
#include "model/forward.h"
#include "model/logits_util.h"
#include "model/model.h"
#include "model/requantize.h"
#include "model/synth.h"
#include "quant/packed_layout.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

std::string tmp(const std::string& name) { return testing::TempDir() + "peer_types_" + name; }

using test::all_logits;

DecodedTernary decoded(const GgufFile& f, const std::string& name) {
  const GgufTensorInfo& t = *f.find_tensor(name);
  return decode_ternary(t.type, f.tensor_data(t), int64_t(t.ne[1]), int64_t(t.ne[0]), f.path(), name);
}

TEST(PeerTypes, SynthAndQuantizeWriteTheSameTqBytes) {
  write_synth_model({.shape = "tiny", .seed = 3, .weight_type = kGgmlBitlmT2}, tmp("t2.gguf"));
  write_synth_model({.shape = "tiny", .seed = 3, .weight_type = kGgmlTQ2_0}, tmp("tq2.gguf"));
  const RequantizeCounts n = requantize_model(tmp("t2.gguf"), tmp("q_tq2.gguf"), {.weight_type = kGgmlTQ2_0});
  EXPECT_EQ(n.ternary, 2 * 7);
  EXPECT_EQ(n.embeddings, 0);
  const auto a = GgufFile::open(tmp("tq2.gguf")), b = GgufFile::open(tmp("q_tq2.gguf"));
  ASSERT_EQ(a->tensors().size(), b->tensors().size());
  for (const GgufTensorInfo& t : a->tensors()) {
    const auto x = a->tensor_data(t), y = b->tensor_data(*b->find_tensor(t.name));
    EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end())) << t.name;
  }
  EXPECT_EQ(a->get_string("general.architecture").value_or(""), "bitnet");

  // ... and back to T2: the same codes, the scale as the blocks' fp16 d.
  requantize_model(tmp("q_tq2.gguf"), tmp("back_t2.gguf"), {.weight_type = kGgmlBitlmT2});
  const auto orig = GgufFile::open(tmp("t2.gguf")), back = GgufFile::open(tmp("back_t2.gguf"));
  const std::string q0 = "blk.0.attn_q.weight";
  EXPECT_EQ(back->find_tensor(q0)->type, kGgmlBitlmT2);
  const DecodedTernary d0 = decoded(*orig, q0), d1 = decoded(*back, q0);
  EXPECT_EQ(d0.q, d1.q);
  EXPECT_EQ(d1.scale, fp16_to_f32(f32_to_fp16(d0.scale)));
}

TEST(PeerTypes, Tq1FileRunsInLoadLayoutAndMatchesTq2Logits) {
  write_synth_model({.shape = "tiny", .seed = 4, .weight_type = kGgmlTQ1_0}, tmp("tq1.gguf"));
  write_synth_model({.shape = "tiny", .seed = 4, .weight_type = kGgmlTQ2_0}, tmp("tq2b.gguf"));
  const auto tq1 = Model::load(tmp("tq1.gguf"));
  const auto tq2 = Model::load(tmp("tq2b.gguf"));
  for (const LinearWeights* w : tq1->weights.layers[0].linears())
    EXPECT_EQ(w->ternary.layout().type, load_layout(kGgmlTQ1_0));
  for (const LinearWeights* w : tq2->weights.layers[0].linears())
    EXPECT_EQ(w->ternary.layout().type, load_layout(kGgmlTQ2_0));
  const std::vector<int32_t> tokens = {1, 72, 101, 108, 108, 111, 44, 32, 116, 2};
  EXPECT_EQ(all_logits(*tq1, tokens), all_logits(*tq2, tokens));
}

TEST(PeerTypes, ArchIsTheOneThePeersRun) {
  // micro is `bitnet-b1.58` with ReLU^2 (ik_llama.cpp's arch); as SiLU it becomes llama.cpp's `bitnet`.
  SynthOptions o{.shape = "micro", .seed = 1, .weight_type = kGgmlI2_S};
  EXPECT_EQ(write_synth_model(o, tmp("micro_i2s.gguf")).arch, "bitnet-b1.58");
  o.activation = "silu";
  EXPECT_EQ(write_synth_model(o, tmp("micro_silu.gguf")).arch, "bitnet");
  const auto m = Model::load(tmp("micro_silu.gguf"));
  EXPECT_EQ(m->config.activation, FfnActivation::kSilu);
  // A ReLU^2 model stored as `bitnet` (bitlm reads the activation from a key) is renamed.
  SynthOptions relu{.shape = "tiny", .seed = 1, .weight_type = kGgmlBitlmT2};
  relu.activation = "relu2";
  EXPECT_EQ(write_synth_model(relu, tmp("tiny_relu.gguf")).arch, "bitnet");
  requantize_model(tmp("tiny_relu.gguf"), tmp("tiny_relu_tq1.gguf"), {.weight_type = kGgmlTQ1_0});
  const auto f = GgufFile::open(tmp("tiny_relu_tq1.gguf"));
  EXPECT_EQ(f->get_string("general.architecture").value_or(""), "bitnet-b1.58");
  EXPECT_EQ(f->get_uint("bitnet-b1.58.embedding_length").value_or(0), 256u);
  EXPECT_EQ(f->find("bitnet.embedding_length"), nullptr);
  EXPECT_EQ(Model::load(tmp("tiny_relu_tq1.gguf"))->config.activation, FfnActivation::kRelu2);
}

// ik_llama.cpp's IQ2_BN: synth writes what quantize writes, its scale is f32 (exact, unlike TQ's
// fp16 d), the file loads (repacked to the load layout) with the T2 file's logits, and a ReLU^2
// model is written as ik's `bitnet-b1.58`, a SiLU one as `bitnet`.
TEST(PeerTypes, Iq2BnWriteLoadGivesTheSameLogits) {
  write_synth_model({.shape = "tiny", .seed = 6, .weight_type = kGgmlBitlmT2}, tmp("t2_6.gguf"));
  EXPECT_EQ(write_synth_model({.shape = "tiny", .seed = 6, .weight_type = kGgmlIQ2_BN}, tmp("iq2bn.gguf")).arch,
            "bitnet");
  requantize_model(tmp("t2_6.gguf"), tmp("q_iq2bn.gguf"), {.weight_type = kGgmlIQ2_BN});
  const auto a = GgufFile::open(tmp("iq2bn.gguf")), b = GgufFile::open(tmp("q_iq2bn.gguf"));
  const auto t2 = GgufFile::open(tmp("t2_6.gguf"));
  for (const GgufTensorInfo& t : a->tensors()) {
    const auto x = a->tensor_data(t), y = b->tensor_data(*b->find_tensor(t.name));
    EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end())) << t.name;
    if (t.type != kGgmlIQ2_BN) continue;
    const DecodedTernary d0 = decoded(*t2, t.name), d1 = decoded(*a, t.name);
    EXPECT_EQ(d0.q, d1.q) << t.name;
    EXPECT_EQ(d0.scale, d1.scale) << t.name;
  }
  const auto iq = Model::load(tmp("iq2bn.gguf")), ref = Model::load(tmp("t2_6.gguf"));
  for (const LinearWeights* w : iq->weights.layers[0].linears())
    EXPECT_EQ(w->ternary.layout().type, load_layout(kGgmlIQ2_BN));
  const std::vector<int32_t> tokens = {1, 72, 101, 108, 108, 111, 44, 32, 116, 2};
  EXPECT_EQ(all_logits(*iq, tokens), all_logits(*ref, tokens));
  SynthOptions relu{.shape = "micro", .seed = 1, .weight_type = kGgmlIQ2_BN};
  EXPECT_EQ(write_synth_model(relu, tmp("micro_iq2bn.gguf")).arch, "bitnet-b1.58");
  EXPECT_EQ(Model::load(tmp("micro_iq2bn.gguf"))->config.activation, FfnActivation::kRelu2);
}

// ik_llama.cpp's IQ1_BN (1.625 bits): stays 1.6 bits in memory (T1), quantize writes synth's
// bytes, and the logits equal the TQ2_0 file's (both store the scale as fp16).
TEST(PeerTypes, Iq1BnRunsAsT1WithTheSameLogits) {
  write_synth_model({.shape = "tiny", .seed = 8, .weight_type = kGgmlTQ2_0}, tmp("tq2_8.gguf"));
  write_synth_model({.shape = "tiny", .seed = 8, .weight_type = kGgmlIQ1_BN}, tmp("iq1bn.gguf"));
  requantize_model(tmp("tq2_8.gguf"), tmp("q_iq1bn.gguf"), {.weight_type = kGgmlIQ1_BN});
  const auto a = GgufFile::open(tmp("iq1bn.gguf")), b = GgufFile::open(tmp("q_iq1bn.gguf"));
  for (const GgufTensorInfo& t : a->tensors()) {
    const auto x = a->tensor_data(t), y = b->tensor_data(*b->find_tensor(t.name));
    EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end())) << t.name;
  }
  EXPECT_EQ(a->find_tensor("blk.0.attn_q.weight")->type, kGgmlIQ1_BN);
  const auto iq = Model::load(tmp("iq1bn.gguf")), ref = Model::load(tmp("tq2_8.gguf"));
  for (const LinearWeights* w : iq->weights.layers[0].linears())
    EXPECT_EQ(w->ternary.layout().type, load_layout(kGgmlIQ1_BN));
  const std::vector<int32_t> tokens = {1, 72, 101, 108, 108, 111, 44, 32, 116, 2};
  EXPECT_EQ(all_logits(*iq, tokens), all_logits(*ref, tokens));
}

TEST(PeerTypes, RowsThatAreNotWholeTqBlocksAreAUserError) {
  // micro: D = 128, not a whole 256-block of TQ1_0.
  EXPECT_THROW(write_synth_model({.shape = "micro", .seed = 1, .weight_type = kGgmlTQ1_0}, tmp("x.gguf")), UserError);
  write_synth_model({.shape = "micro", .seed = 1}, tmp("micro.gguf"));
  try {
    requantize_model(tmp("micro.gguf"), tmp("x.gguf"), {.weight_type = kGgmlTQ2_0});
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace bitlm
