// tests/model/config_test.cpp — the arch table and key validation, on small GGUFs written here.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "core/error.h"
#include "core/ggml_types.h"
#include "io/gguf.h"
#include "model/config.h"
#include "model/sampler.h"
#include "model/synth.h"
#include "quant/kernels.h"

namespace bitlm {
namespace {

std::string tmp_path(const std::string& name) { return testing::TempDir() + "bitlm_model_" + name; }

std::unique_ptr<GgufFile> write_config(const ModelConfig& c, const std::string& name,
                                       const std::function<void(GgufWriter&)>& patch = {}) {
  GgufWriter w;
  c.write_gguf(w);
  if (patch) patch(w);
  const std::string path = tmp_path(name);
  w.write(path);
  auto file = GgufFile::open(path);
  std::remove(path.c_str());  // the open file stays readable; the test leaves nothing in /tmp
  return file;
}

TEST(Config, RoundTripsEveryField) {
  const ModelConfig c = synth_config("bitnet-2b4t");
  const ModelConfig r = ModelConfig::from_gguf(*write_config(c, "rt.gguf"));
  EXPECT_EQ(r.arch, "bitnet-b1.58");
  EXPECT_EQ(r.n_embd, 2560);
  EXPECT_EQ(r.n_ff, 6912);
  EXPECT_EQ(r.n_layer, 30);
  EXPECT_EQ(r.n_head, 20);
  EXPECT_EQ(r.n_head_kv, 5);
  EXPECT_EQ(r.head_dim, 128);
  EXPECT_EQ(r.n_vocab, 128256);
  EXPECT_EQ(r.rope_theta, 500000.0f);
  EXPECT_EQ(r.activation, FfnActivation::kRelu2);
  EXPECT_TRUE(r.sub_norms && r.rope_neox);
}

// The published shapes get a Q6_K head unless D is not made of whole 256-blocks (bitnet-3b: 3200).
TEST(Config, SynthHeadTypeDefaultsToQ6KWhereTheBlocksFit) {
  EXPECT_EQ(synth_default_embd_type("bitnet-2b4t"), kGgmlQ6_K);
  EXPECT_EQ(synth_default_embd_type("bitnet-700m"), kGgmlQ6_K);
  EXPECT_EQ(synth_default_embd_type("bitnet-3b"), kGgmlQ8_0);
  EXPECT_EQ(synth_default_embd_type("micro"), kGgmlF16);
}

// The published shapes get the layout this CPU decodes fastest (run as stored), the test shapes T2.
TEST(Config, SynthWeightTypeDefaultsToTheFastestLayoutForPublishedShapes) {
  EXPECT_EQ(synth_default_weight_type("bitnet-2b4t"), best_kernels().fastest_layout);
  EXPECT_EQ(synth_default_weight_type("bitnet-3b"), best_kernels().fastest_layout);
  EXPECT_EQ(synth_default_weight_type("tiny"), kGgmlBitlmT2);
  EXPECT_EQ(synth_default_weight_type("micro"), kGgmlBitlmT2);
}

TEST(Config, ArchDefaultsAndActivationKey) {
  ModelConfig c = synth_config("tiny");
  c.arch = "bitnet-25";
  auto f = write_config(c, "a.gguf", [](GgufWriter& w) { w.set("bitnet-25.hidden_act", GgufValue::string("gelu")); });
  EXPECT_THROW(ModelConfig::from_gguf(*f), FormatError);  // an unknown activation is never defaulted
  c.arch = "llama";
  const ModelConfig r = ModelConfig::from_gguf(*write_config(c, "b.gguf"));
  EXPECT_FALSE(r.sub_norms);
  EXPECT_FALSE(r.rope_neox);
  EXPECT_EQ(r.activation, FfnActivation::kSilu);  // written by write_gguf as "silu"
}

// The tensor tables: llama.cpp's names, a block's rows in file order, shapes from the config.
TEST(TensorTable, NamesAndShapes) {
  using enum TensorRole;
  const ModelConfig c = synth_config("bitnet-2b4t");
  EXPECT_EQ(c.tensors().gguf_name(kTokenEmbd), "token_embd.weight");
  EXPECT_EQ(c.tensors().gguf_name(kAttnSubNorm, 29), "blk.29.attn_sub_norm.weight");
  EXPECT_EQ(c.tensors().gguf_name(kFfnDown, 0), "blk.0.ffn_down.weight");
  EXPECT_EQ(tensor_shape(kAttnK, c).rows, 640);   // Hkv * Dh = 5 * 128
  EXPECT_EQ(tensor_shape(kFfnDown, c).cols, 6912);
  EXPECT_EQ(tensor_shape(kFfnSubNorm, c).cols, 6912);
  EXPECT_EQ(tensor_kind(kAttnSubNorm), TensorKind::kNorm);
  EXPECT_EQ(tensor_kind(kAttnOutput), TensorKind::kLinear);
  EXPECT_EQ(kBitnetTensors.blocks.size(), 11u);
  EXPECT_EQ(kLlamaTensors.blocks.size(), 9u);
  EXPECT_FALSE(kLlamaTensors.has(kFfnSubNorm));
  for (const ArchTraits& a : supported_archs())
    for (const TensorRow& r : a.tensors->blocks) EXPECT_TRUE(is_block_role(r.role)) << a.name;
}

TEST(Config, WeightModeKey) {
  ModelConfig c = synth_config("tiny");
  EXPECT_FALSE(ModelConfig::from_gguf(*write_config(c, "w0.gguf")).fp_linear);  // absent: ternary
  c.fp_linear = true;
  EXPECT_TRUE(ModelConfig::from_gguf(*write_config(c, "w1.gguf")).fp_linear);
  auto f = write_config(c, "w2.gguf", [](GgufWriter& w) { w.set("bitnet.weight_mode", GgufValue::string("int4")); });
  try {
    ModelConfig::from_gguf(*f);
    FAIL() << "an unknown weight mode was accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("bitnet.weight_mode"), std::string::npos) << e.what();
  }
}

TEST(Config, UnknownArchNamesTheSupportedOnes) {
  ModelConfig c = synth_config("tiny");
  c.arch = "gpt-j";
  try {
    ModelConfig::from_gguf(*write_config(c, "u.gguf"));
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown architecture 'gpt-j' (supported: bitnet, "), std::string::npos) << e.what();
  }
}

TEST(Config, AbsurdDimensionNamesTheKey) {
  ModelConfig c = synth_config("tiny");
  c.n_layer = 100000;
  auto f = write_config(c, "d.gguf");
  try {
    ModelConfig::from_gguf(*f);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("bitnet.block_count"), std::string::npos) << e.what();
  }
}

// Falcon3-1.58bit: a head size other than n_embd / n_head travels as llama.cpp's
// attention.key_length / value_length (written only where it differs); a value_length or a partial
// rotary dimension that disagrees with it is named.
TEST(Config, HeadDimOtherThanEmbdOverHeadsRoundTrips) {
  ModelConfig c = synth_config("tiny");
  c.set_arch("llama");
  c.head_dim = 2 * c.n_embd / c.n_head;
  const ModelConfig r = ModelConfig::from_gguf(*write_config(c, "hd.gguf"));
  EXPECT_EQ(r.head_dim, c.head_dim);
  EXPECT_EQ(r.q_dim(), 2 * c.n_embd);
  const ModelConfig plain = synth_config("tiny");
  EXPECT_FALSE(write_config(plain, "hd0.gguf")->find("bitnet.attention.key_length"));
  const auto error = [&](const std::function<void(GgufWriter&)>& patch) {
    try {
      ModelConfig::from_gguf(*write_config(c, "hd2.gguf", patch));
    } catch (const FormatError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error([](GgufWriter& w) { w.set("llama.attention.value_length", GgufValue::u32(8)); })
                .find("key 'llama.attention.value_length' = 8 differs"), std::string::npos);
  EXPECT_NE(error([](GgufWriter& w) { w.set("llama.rope.dimension_count", GgufValue::u32(8)); })
                .find("key 'llama.rope.dimension_count' = 8: partial"), std::string::npos);
}

TEST(Sampler, GreedyPenaltyAndSeededDraws) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.9f, -1.0f};
  SamplerParams p;
  p.temperature = 0;
  EXPECT_EQ(Sampler(p, 4).sample(logits, {}), 1);
  p.repeat_penalty = 1.5f;
  const std::vector<int32_t> hist = {1};
  EXPECT_EQ(Sampler(p, 4).sample(logits, hist), 2);  // 3.0 / 1.5 = 2 < 2.9
  p = {};
  p.temperature = 1.0f, p.top_k = 2, p.min_p = 0, p.top_p = 1.0f, p.seed = 7;
  Sampler a(p, 4), b(p, 4);
  for (int i = 0; i < 50; ++i) {
    const int32_t x = a.sample(logits, {});
    EXPECT_TRUE(x == 1 || x == 2);  // top-k 2
    EXPECT_EQ(x, b.sample(logits, {}));
  }
}

}  // namespace
}  // namespace bitlm
