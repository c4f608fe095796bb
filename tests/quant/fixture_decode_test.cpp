// tests/quant/fixture_decode_test.cpp — THE acceptance test of the ternary decoders: every ternary
// tensor of /work/shared/fixtures/tiny-bitnet/*.gguf (written by llama.cpp's gguf-py writer, llama.cpp
// and bitnet.cpp llama-quantize) decodes to the scale, -1/0/+1 counts and sha256 of the int8
// row-major pattern that the peers printed into expected.json.
//
// The files are read with io's GgufFile (tests/CMakeLists.txt links test_quant to bitlm_io too).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/sha256.h"
#include "core/ggml_types.h"
#include "io/gguf.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

const std::string kDir = std::string(BITLM_SHARED_DIR) + "/fixtures/tiny-bitnet/";

struct Case { const char* format; const char* file; uint32_t type; };
constexpr Case kCases[] = {{"F32", "tiny-bitnet-F32.gguf", kGgmlF32},
                           {"TQ1_0", "tiny-bitnet-TQ1_0.gguf", kGgmlTQ1_0},
                           {"TQ2_0", "tiny-bitnet-TQ2_0.gguf", kGgmlTQ2_0},
                           {"I2_S", "tiny-bitnet-I2_S.gguf", kGgmlI2_S}};

class FixtureDecode : public testing::TestWithParam<Case> {};

TEST_P(FixtureDecode, EveryTernaryTensorMatchesExpectedJson) {
  const Case c = GetParam();
  const nlohmann::json expected = nlohmann::json::parse(std::ifstream(kDir + "expected.json"))["ternary"];
  ASSERT_EQ(expected.size(), 14u);
  const auto g = GgufFile::open(kDir + c.file);
  for (const auto& [name, e] : expected.items()) {
    SCOPED_TRACE(std::string(c.file) + " " + name);
    const GgufTensorInfo* t = g->find_tensor(name);
    ASSERT_NE(t, nullptr);
    const int64_t rows = e["rows"], cols = e["cols"];
    ASSERT_EQ(t->ne, (std::vector<uint64_t>{uint64_t(cols), uint64_t(rows)}));
    ASSERT_EQ(t->type, c.type);
    const DecodedTernary d = decode_ternary(t->type, g->tensor_data(*t), rows, cols, g->path(), name);
    EXPECT_TRUE(d.uniform_scale);
    EXPECT_FALSE(d.from_latent);
    EXPECT_EQ(d.scale, e["scale"].get<float>());
    std::map<int, int64_t> counts;
    for (int8_t v : d.q) ++counts[v];
    EXPECT_EQ(counts[-1], e["counts"]["-1"].get<int64_t>());
    EXPECT_EQ(counts[0], e["counts"]["0"].get<int64_t>());
    EXPECT_EQ(counts[1], e["counts"]["+1"].get<int64_t>());
    EXPECT_EQ(sha256_hex({reinterpret_cast<const uint8_t*>(d.q.data()), d.q.size()}),
              e["sha256_int8_rowmajor"].get<std::string>());
  }
}

INSTANTIATE_TEST_SUITE_P(TinyBitnet, FixtureDecode, testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.format); });

// The quantized files' token_embd is llama-quantize's Q8_0 of the F32 file's: our ggml-reference
// encoder must produce the same bytes, and our decoder must read them back within d/2 (plus the
// f16 rounding of d, up to 127 * d * 2^-11).
TEST(FixtureDense, Q8_0EmbeddingMatchesLlamaQuantize) {
  const auto f32 = GgufFile::open(kDir + "tiny-bitnet-F32.gguf");
  const auto q80 = GgufFile::open(kDir + "tiny-bitnet-TQ2_0.gguf");
  const GgufTensorInfo* a = f32->find_tensor("token_embd.weight");
  const GgufTensorInfo* b = q80->find_tensor("token_embd.weight");
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->type, kGgmlF32);
  ASSERT_EQ(b->type, kGgmlQ8_0);
  const int64_t cols = int64_t(a->ne[0]), rows = int64_t(a->ne[1]);
  const uint64_t rb = dense_row_bytes(kGgmlQ8_0, cols);
  const auto src = f32->tensor_data(*a);
  const auto want = q80->tensor_data(*b);
  std::vector<float> x(static_cast<size_t>(cols)), back(static_cast<size_t>(cols));
  std::vector<uint8_t> got(rb);
  for (int64_t r = 0; r < rows; r += 97) {
    decode_dense_row(kGgmlF32, src.data() + r * cols * 4, cols, x.data());
    encode_dense_row(kGgmlQ8_0, x.data(), cols, got.data());
    ASSERT_TRUE(std::equal(got.begin(), got.end(), want.data() + r * int64_t(rb))) << "row " << r;
    decode_dense_row(kGgmlQ8_0, want.data() + r * int64_t(rb), cols, back.data());
    for (int64_t i = 0; i < cols; ++i) {
      float amax = 0;
      for (int64_t j = i / 32 * 32; j < i / 32 * 32 + 32; ++j) amax = std::max(amax, std::fabs(x[size_t(j)]));
      ASSERT_NEAR(back[size_t(i)], x[size_t(i)], amax / 127 * 0.57f) << r << "," << i;
    }
  }
}

// The writers: the F32 file's ternary tensors ({-s, 0, +s}) encoded by bitlm as TQ1_0 / TQ2_0 are
// byte for byte what llama.cpp's llama-quantize wrote (block layout, base-3 fixed point, fp16 d,
// tensor order within a block), so a file bitlm writes is one llama.cpp reads as its own.
// TQ1_0 / TQ2_0 against llama.cpp's llama-quantize, I2_S against bitnet.cpp's (its 128-value blocks
// of 32 bytes, byte b holding b, b+32, b+64, b+96 in bits 7-6 .. 1-0, then the f32 scale): bitlm's
// writer gives the peers' bytes. bitnet.cpp's quantize_i2_s writes only the scale of the 32-byte tail;
// the other 28 bytes are whatever its buffer held (not zero in the fixture), so they are not compared.
TEST(FixtureEncode, PeerBytesEqualThePeersQuantize) {
  const nlohmann::json expected = nlohmann::json::parse(std::ifstream(kDir + "expected.json"))["ternary"];
  const auto f32 = GgufFile::open(kDir + "tiny-bitnet-F32.gguf");
  for (const Case& c : kCases) {
    if (c.type == kGgmlF32) continue;
    const char* file = c.file;
    const uint32_t type = c.type;
    const auto peer = GgufFile::open(kDir + file);
    int n = 0;
    for (const auto& [name, e] : expected.items()) {
      SCOPED_TRACE(std::string(file) + " " + name);
      const GgufTensorInfo* src = f32->find_tensor(name);
      const GgufTensorInfo* want = peer->find_tensor(name);
      ASSERT_TRUE(src && want);
      ASSERT_EQ(want->type, type);
      const int64_t rows = e["rows"], cols = e["cols"];
      const DecodedTernary d = decode_ternary(src->type, f32->tensor_data(*src), rows, cols, f32->path(), name);
      const std::vector<uint8_t> got = encode_ternary(type, d.q, rows, cols, d.scale, name);
      const auto w = peer->tensor_data(*want);
      ASSERT_EQ(got.size(), w.size());
      const size_t n_cmp = type == kGgmlI2_S ? size_t(rows * cols / 4 + 4) : got.size();
      const auto diff = std::mismatch(got.begin(), got.begin() + n_cmp, w.begin());
      EXPECT_TRUE(diff.first == got.begin() + n_cmp) << "first differing byte " << (diff.first - got.begin());
      ++n;
    }
    EXPECT_EQ(n, 14);
  }
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string abc = "abc";
  EXPECT_EQ(sha256_hex({reinterpret_cast<const uint8_t*>(abc.data()), abc.size()}),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks(119, 'a');  // padding spills into a second block
  EXPECT_EQ(sha256_hex({reinterpret_cast<const uint8_t*>(two_blocks.data()), two_blocks.size()}),
            "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb");
}

}  // namespace
}  // namespace bitlm
