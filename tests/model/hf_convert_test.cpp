// tests/model/hf_convert_test.cpp — `bitlm convert` (model/hf_convert.h) on the small Hugging Face
// checkpoints of tests/data/hf, one per BitNet family, written by tools/reference/hf_fixtures.py with
// float64 reference logits of an independent forward:
//   /usr/bin/python3 tools/reference/hf_fixtures.py --out tests/data/hf
// and every kind of bad input the converter must name in one line, leaving nothing at the output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/json_file.h"
#include "model/forward.h"
#include "model/hf_convert.h"
#include "model/model.h"
#include "quant/packed_layout.h"

namespace bitlm {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::HasSubstr;

const std::string kHf = std::string(BITLM_TEST_DATA_DIR) + "/hf/";

std::string temp_path(const std::string& name) {
  return (fs::path(testing::TempDir()) / ("bitlm_hf_" + std::to_string(getpid()) + "_" + name)).string();
}

struct Reference {
  std::vector<int32_t> tokens, greedy;
  std::vector<std::vector<double>> logits, logits_kv_f16;
  std::vector<double> margins;
};

Reference read_reference(const std::string& family) {
  const json j = read_json_file(kHf + family + "/reference.json");
  Reference r;
  r.tokens = j["tokens"].get<std::vector<int32_t>>();
  r.logits = j["logits"].get<std::vector<std::vector<double>>>();
  r.logits_kv_f16 = j["logits_kv_f16"].get<std::vector<std::vector<double>>>();
  r.greedy = j["greedy"].get<std::vector<int32_t>>();
  r.margins = j["greedy_top2_margin"].get<std::vector<double>>();
  return r;
}

// max |a - b| / max |b| over one position's logits.
double rel_error(std::span<const float> a, const std::vector<double>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  return diff / scale;
}

std::string convert(const std::string& family, uint32_t weight_type = 0) {
  const std::string out = temp_path(family + ".gguf");
  ConvertOptions o;
  o.weight_type = weight_type;
  convert_hf_checkpoint(kHf + family, out, o);
  return out;
}

class Families : public testing::TestWithParam<std::string> {};

// Full-precision activations (--act none): every prompt position's logits within 1e-4 (relative to
// the largest) of the float64 forward with K and V stored as halves, as the runtime's KV cache does
// (rounding the cache alone moves these logits by 3e-3 to 6e-3, so the pure float64 logits are
// checked at 1e-2: a wrong scale, sub-norm or RoPE pairing is off by far more).
TEST_P(Families, LogitsMatchTheFloat64Reference) {
  const Reference ref = read_reference(GetParam());
  for (const PackedLayout& layout : packed_layouts()) {
    const std::string path = convert(GetParam(), layout.type);
    const auto model = Model::load(path);
    ThreadPool pool(2);
    Forward fwd(*model, 64, pool, ActMode::kNone, int64_t(ref.tokens.size()));
    fwd.eval(ref.tokens, /*all_logits=*/true);
    double worst = 0, worst_pure = 0;
    for (size_t t = 0; t < ref.tokens.size(); ++t) {
      worst = std::max(worst, rel_error(fwd.logits(int64_t(t)), ref.logits_kv_f16[t]));
      worst_pure = std::max(worst_pure, rel_error(fwd.logits(int64_t(t)), ref.logits[t]));
    }
    EXPECT_LE(worst, 1e-4) << GetParam() << " as " << layout.name;
    EXPECT_LE(worst_pure, 1e-2) << GetParam() << " as " << layout.name;
    fs::remove(path);
  }
}

// int8 activations (the model's own mode): the greedy continuation is the reference's for as long
// as the reference's top-2 margin is comfortable (> 2 logits: per-token int8 activations moved the
// bf16-master fixture's logits, which reach ±24, enough to flip a 1.7-logit margin at step 2).
TEST_P(Families, Int8GreedyFollowsTheReferenceWhileTheMarginIsComfortable) {
  const Reference ref = read_reference(GetParam());
  const std::string path = convert(GetParam());
  const auto model = Model::load(path);
  ThreadPool pool(2);
  Forward fwd(*model, 64, pool, ActMode::kInt8, int64_t(ref.tokens.size()));
  fwd.eval(ref.tokens);
  int compared = 0;
  for (size_t i = 0; i < ref.greedy.size() && ref.margins[i] > 2.0; ++i, ++compared) {
    const auto logits = fwd.last_logits();
    const int32_t next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ASSERT_EQ(next, ref.greedy[i]) << GetParam() << " step " << i;
    fwd.eval(std::vector<int32_t>{next});
  }
  fs::remove(path);
  RecordProperty("compared_steps", compared);
}

INSTANTIATE_TEST_SUITE_P(Hf, Families, testing::Values("bitnet-2b4t", "bitnet-2b4t-bf16", "1bitllm", "llama3-1.58",
                                                         "falcon3-1.58"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace_if(n.begin(), n.end(), [](char c) { return !std::isalnum(c); }, '_');
                           return n;
                         });

TEST(HfConvert, MetadataTokenizerAndChatTemplateReachTheGguf) {
  const std::string path = convert("bitnet-2b4t");
  const auto model = Model::load(path);
  EXPECT_EQ(model->config.arch, "bitnet-b1.58");
  EXPECT_EQ(model->config.activation, FfnActivation::kRelu2);
  EXPECT_EQ(model->config.n_head_kv, 2);
  EXPECT_TRUE(model->weights.tied_output);
  const GgufFile& f = *model->file;
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "llama-bpe");
  EXPECT_EQ(f.get_uint("tokenizer.ggml.bos_token_id"), 317u);
  EXPECT_EQ(f.get_uint("tokenizer.ggml.eos_token_id"), 319u);
  EXPECT_EQ(f.get_bool("tokenizer.ggml.add_bos_token"), true);
  EXPECT_THAT(f.get_string("tokenizer.chat_template").value_or(""), HasSubstr("<|eot_id|>"));
  fs::remove(path);

  const std::string spm = convert("1bitllm");
  const auto m2 = Model::load(spm);
  EXPECT_EQ(m2->config.arch, "bitnet");
  EXPECT_FALSE(m2->weights.tied_output);
  EXPECT_EQ(m2->file->get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(m2->file->get_uint("tokenizer.ggml.bos_token_id"), 1u);
  fs::remove(spm);
}

// ---- bad input: one UserError naming the problem, nothing left at the output path ----

std::string copy_fixture(const std::string& family, const std::string& name) {
  const std::string dir = temp_path(name);
  fs::remove_all(dir);
  fs::copy(kHf + family, dir);
  return dir;
}

void edit_json(const std::string& path, const std::function<void(json&)>& edit) {
  json j = read_json_file(path);
  edit(j);
  std::ofstream(path) << j.dump(1);
}

std::string convert_error(const std::string& dir) {
  const std::string out = dir + ".gguf";
  std::string error = "no error";
  try {
    convert_hf_checkpoint(dir, out, {});
  } catch (const UserError& e) {
    error = e.what();
  }
  EXPECT_FALSE(fs::exists(out)) << "a half-written output was left for " << error;
  for (const auto& e : fs::directory_iterator(fs::path(out).parent_path()))
    EXPECT_THAT(e.path().filename().string(), testing::Not(HasSubstr(fs::path(out).filename().string() + ".tmp")));
  fs::remove_all(dir);
  return error;
}

// Reads a safetensors file's header, lets `edit` change it, writes it back with the same data.
void edit_safetensors_header(const std::string& path, const std::function<void(json&)>& edit) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  json header = json::parse(bytes.substr(8, n));
  edit(header);
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');
  const uint64_t m = text.size();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&m), 8);
  out << text << bytes.substr(8 + n);
}

TEST(HfConvertBadInput, MissingShard) {
  const std::string dir = copy_fixture("llama3-1.58", "missing_shard");
  fs::remove(dir + "/model-00002-of-00002.safetensors");
  EXPECT_THAT(convert_error(dir), HasSubstr("missing shard 'model-00002-of-00002.safetensors'"));
}

TEST(HfConvertBadInput, IndexNamesATensorItsShardLacks) {
  const std::string dir = copy_fixture("llama3-1.58", "index_lies");
  edit_json(dir + "/model.safetensors.index.json",
            [](json& j) { j["weight_map"]["model.embed_tokens.weight"] = "model-00002-of-00002.safetensors"; });
  EXPECT_THAT(convert_error(dir), HasSubstr("tensor 'model.embed_tokens.weight' is mapped to shard "
                                            "'model-00002-of-00002.safetensors', which does not hold it"));
}

TEST(HfConvertBadInput, ShapeDisagreesWithConfig) {
  const std::string dir = copy_fixture("bitnet-2b4t", "shape");
  edit_json(dir + "/config.json", [](json& j) { j["intermediate_size"] = 256; });
  EXPECT_THAT(convert_error(dir), HasSubstr("tensor 'model.layers.0.mlp.gate_proj.weight' has shape [32, 64], config.json says [64, 64]"));
}

TEST(HfConvertBadInput, TruncatedSafetensors) {
  const std::string dir = copy_fixture("bitnet-2b4t", "truncated");
  fs::resize_file(dir + "/model.safetensors", fs::file_size(dir + "/model.safetensors") / 2);
  EXPECT_THAT(convert_error(dir), HasSubstr("outside the data section"));
}

TEST(HfConvertBadInput, HeaderLiesAboutOffsets) {
  const std::string dir = copy_fixture("bitnet-2b4t", "offsets");
  edit_safetensors_header(dir + "/model.safetensors", [](json& h) {
    auto& o = h["model.norm.weight"]["data_offsets"];  // same length, shifted onto its neighbour
    o = {o[0].get<uint64_t>() - 2, o[1].get<uint64_t>() - 2};
  });
  EXPECT_THAT(convert_error(dir), HasSubstr("overlap"));
}

TEST(HfConvertBadInput, UnsupportedDtype) {
  const std::string dir = copy_fixture("bitnet-2b4t", "dtype");
  edit_safetensors_header(dir + "/model.safetensors", [](json& h) { h["model.norm.weight"]["dtype"] = "F8_E4M3"; });
  EXPECT_THAT(convert_error(dir), HasSubstr("dtype 'F8_E4M3' is not supported"));
  const std::string dir2 = copy_fixture("bitnet-2b4t", "dtype_i8");
  edit_safetensors_header(dir2 + "/model.safetensors",
                          [](json& h) { h["model.layers.0.self_attn.q_proj.weight"]["dtype"] = "I8"; });
  EXPECT_THAT(convert_error(dir2), HasSubstr("'model.layers.0.self_attn.q_proj.weight': dtype I8 is not supported"));
}

TEST(HfConvertBadInput, PackedCodeThree) {
  const std::string dir = copy_fixture("bitnet-2b4t", "code3");
  const std::string file = dir + "/model.safetensors";
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  in.close();
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  const json h = json::parse(bytes.substr(8, n));
  const uint64_t at = 8 + n + h["model.layers.1.mlp.up_proj.weight"]["data_offsets"][0].get<uint64_t>() + 5;
  bytes[at] = char(0xC0);  // slab 3 of row 0, column 5: code 3
  std::ofstream(file, std::ios::binary) << bytes;
  EXPECT_THAT(convert_error(dir), HasSubstr("'model.layers.1.mlp.up_proj.weight': packed code 3 at row 96, column 5"));
}

TEST(HfConvertBadInput, UnsupportedTokenizerModelType) {
  const std::string dir = copy_fixture("bitnet-2b4t", "unigram");
  edit_json(dir + "/tokenizer.json", [](json& j) { j["model"]["type"] = "Unigram"; });
  EXPECT_THAT(convert_error(dir), HasSubstr("tokenizer.json: model.type 'Unigram' is not supported"));
}

TEST(HfConvertBadInput, UnknownArchitectureOrQuantization) {
  const std::string dir = copy_fixture("bitnet-2b4t", "arch");
  edit_json(dir + "/config.json", [](json& j) { j["architectures"] = {"MambaForCausalLM"}; });
  EXPECT_THAT(convert_error(dir), HasSubstr("architecture 'MambaForCausalLM' (model_type 'bitnet') is not supported"));
  const std::string dir2 = copy_fixture("bitnet-2b4t", "quant");
  edit_json(dir2 + "/config.json", [](json& j) { j["quantization_config"]["quant_method"] = "gptq"; });
  EXPECT_THAT(convert_error(dir2), HasSubstr("quantization_config.quant_method 'gptq' is not supported"));
}

}  // namespace
}  // namespace bitlm
