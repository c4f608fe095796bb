// tests/tokenizer/vectors_test.cpp — llama.cpp's own tokenizer test vectors (shared/data/tokenizers,
// copied from llama.cpp models/, read as tests/test-tokenizer-0.cpp reads them: inputs separated by
// "\n__ggml_vocab_test__\n", tokenized with add_special = false, parse_special = false), and the
// tiny-bitnet fixture's llama-tokenize output (BOS first).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "io/gguf.h"
#include "tokenizer/tiktoken.h"
#include "tokenizer/tokenizer.h"

namespace bitlm {
namespace {

const std::string kTokDir = std::string(BITLM_SHARED_DIR) + "/data/tokenizers/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<Case> read_cases(const std::string& stem) {
  const std::string raw = read_file(stem + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) { inputs.push_back(raw.substr(pos)); break; }
    inputs.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::ifstream out(stem + ".out");
  std::vector<Case> cases;
  std::string line;
  for (size_t i = 0; std::getline(out, line); ++i) {
    Case c{i < inputs.size() ? inputs[i] : std::string(), {}};
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  EXPECT_EQ(cases.size(), inputs.size()) << stem;
  return cases;
}

const Tokenizer& spm() {
  static const auto t = Tokenizer::from_gguf(*GgufFile::open(kTokDir + "ggml-vocab-llama-spm.gguf"));
  return *t;
}
const Tokenizer& gpt2() {
  static const auto t = Tokenizer::from_gguf(*GgufFile::open(kTokDir + "ggml-vocab-gpt-2.gguf"));
  return *t;
}
const Tokenizer& llama3() {
  static const auto t = Tokenizer::from_vocab(vocab_from_tiktoken(kTokDir + "llama3-tokenizer.model"));
  return *t;
}

struct VectorSet {
  const char* name;
  const Tokenizer& (*tokenizer)();
  const char* stem;
};

class LlamaCppVectors : public testing::TestWithParam<VectorSet> {};

TEST_P(LlamaCppVectors, All46InputsMatch) {
  const Tokenizer& tok = GetParam().tokenizer();
  const std::vector<Case> cases = read_cases(kTokDir + GetParam().stem);
  ASSERT_EQ(cases.size(), 46u);
  for (const Case& c : cases)
    EXPECT_EQ(tok.encode(c.text, /*add_bos=*/false), c.ids) << "input '" << c.text << "'";
}

TEST_P(LlamaCppVectors, DecodeInvertsEncode) {
  const Tokenizer& tok = GetParam().tokenizer();
  for (const Case& c : read_cases(kTokDir + GetParam().stem)) {
    EXPECT_EQ(tok.decode(tok.encode(c.text, false)), c.text);
    EXPECT_EQ(tok.decode(tok.encode(c.text, true)), c.text);
  }
}

INSTANTIATE_TEST_SUITE_P(Vocab, LlamaCppVectors,
                         testing::Values(VectorSet{"spm", spm, "ggml-vocab-llama-spm.gguf"},
                                         VectorSet{"gpt2", gpt2, "ggml-vocab-gpt-2.gguf"},
                                         VectorSet{"llama3", llama3, "ggml-vocab-llama-bpe.gguf"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TinyBitnetFixture, PromptAndTextMatchLlamaTokenize) {
  const std::string dir = std::string(BITLM_SHARED_DIR) + "/fixtures/tiny-bitnet/";
  const auto tok = Tokenizer::from_gguf(*GgufFile::open(dir + "tiny-bitnet-F32.gguf"));
  const auto expected = nlohmann::json::parse(read_file(dir + "expected.json"))["tokenizer"];
  EXPECT_EQ(tok->encode(expected["prompt"].get<std::string>(), true),
            expected["prompt_ids_with_bos"].get<std::vector<int32_t>>());
  auto text_ids = expected["text_ids_with_bos"];
  if (text_ids.is_string()) text_ids = nlohmann::json::parse(text_ids.get<std::string>());
  const std::string text = read_file(dir + expected["text_file"].get<std::string>());
  const std::vector<int32_t> ids = tok->encode(text, true);
  EXPECT_EQ(ids, text_ids.get<std::vector<int32_t>>());
  EXPECT_EQ(tok->decode(ids), text);
}

TEST(SpecialTokens, ParsedOnlyWhenAsked) {
  const Tokenizer& t = llama3();
  const std::string text = "<|begin_of_text|>Hello<|eot_id|>";
  EXPECT_EQ(t.encode(text, false, /*parse_special=*/true), (std::vector<int32_t>{128000, 9906, 128009}));
  const std::vector<int32_t> plain = t.encode(text, false, false);
  EXPECT_GT(plain.size(), 3u);
  EXPECT_EQ(t.decode(plain), text);
  EXPECT_EQ(t.encode("Hello", true), (std::vector<int32_t>{128000, 9906}));
  EXPECT_TRUE(t.is_end_of_generation(128009));
  EXPECT_TRUE(t.is_end_of_generation(128001));
  // SPM: a special token is followed by a fresh space prefix, as in llama.cpp.
  EXPECT_EQ(spm().encode("<s>Hello", false, true), (std::vector<int32_t>{1, 15043}));
  EXPECT_EQ(spm().encode("Hello", true), (std::vector<int32_t>{1, 15043}));
}

TEST(Tiktoken, Llama3VocabShape) {
  const Vocab& v = llama3().vocab();
  EXPECT_EQ(v.tokens.size(), 128256u);
  EXPECT_EQ(v.tokens[128000], "<|begin_of_text|>");
  EXPECT_EQ(v.tokens[128006], "<|start_header_id|>");
  EXPECT_EQ(v.tokens[128007], "<|end_header_id|>");
  EXPECT_EQ(v.tokens[128009], "<|eot_id|>");
  EXPECT_EQ(v.tokens[128255], "<|reserved_special_token_250|>");
  EXPECT_EQ(v.bos, 128000);
  EXPECT_EQ(v.eos, 128001);
  EXPECT_EQ(v.eot, 128009);
  EXPECT_EQ(v.pre, "llama-bpe");
  EXPECT_EQ(v.tokens[220], "\xC4\xA0");  // ' ' shown as 'Ġ'
  EXPECT_EQ(v.merges.size(), 280147u);  // as in Llama-3's tokenizer.json
  EXPECT_EQ(v.merges[0], "\xC4\xA0 \xC4\xA0");  // rank 256 = "  "
}

}  // namespace
}  // namespace bitlm
