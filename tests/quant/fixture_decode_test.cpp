// tests/quant/fixture_decode_test.cpp — THE acceptance test of the ternary decoders: every ternary
// tensor of /work/shared/fixtures/tiny-bitnet/*.gguf (written by llama.cpp's gguf-py writer, llama.cpp
// and bitnet.cpp llama-quantize) decodes to the scale, -1/0/+1 counts and sha256 of the int8
// row-major pattern that the peers printed into expected.json.
//
// test_quant links bitlm_quant only, so the GGUF tensor table is read by the small parser below
// (tensor infos only; io/gguf.h is the validated reader the runtime uses).
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/sha256.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

const std::string kDir = std::string(BITLM_SHARED_DIR) + "/fixtures/tiny-bitnet/";

struct Tensor { std::vector<uint64_t> ne; uint32_t type; uint64_t offset; };
struct Gguf { std::vector<uint8_t> bytes; std::map<std::string, Tensor> tensors; uint64_t data_start = 0; };

class Reader {
 public:
  explicit Reader(const std::vector<uint8_t>& b) : b_(b) {}
  template <typename T> T get() {
    if (pos_ + sizeof(T) > b_.size()) throw std::runtime_error("GGUF truncated");
    T v; std::memcpy(&v, b_.data() + pos_, sizeof(T)); pos_ += sizeof(T); return v;
  }
  std::string str() {
    const uint64_t n = get<uint64_t>();
    if (pos_ + n > b_.size()) throw std::runtime_error("GGUF string truncated");
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n); pos_ += n; return s;
  }
  void skip_value(uint32_t type) {  // GGUF value types 0..12
    static constexpr std::array<int, 13> kSize = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) { str(); return; }
    if (type == 9) {
      const uint32_t et = get<uint32_t>();
      const uint64_t n = get<uint64_t>();
      for (uint64_t i = 0; i < n; ++i) skip_value(et);
      return;
    }
    pos_ += size_t(kSize.at(type));
  }
  size_t pos() const { return pos_; }

 private:
  const std::vector<uint8_t>& b_;
  size_t pos_ = 0;
};

Gguf read_gguf(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  Gguf g;
  g.bytes.assign(std::istreambuf_iterator<char>(f), {});
  Reader r(g.bytes);
  if (r.get<uint32_t>() != 0x46554747u) throw std::runtime_error("not GGUF: " + path);
  r.get<uint32_t>();  // version
  const uint64_t n_tensors = r.get<uint64_t>(), n_kv = r.get<uint64_t>();
  uint64_t alignment = 32;
  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string key = r.str();
    const uint32_t type = r.get<uint32_t>();
    if (key == "general.alignment" && type == 4) alignment = r.get<uint32_t>();
    else r.skip_value(type);
  }
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const std::string name = r.str();
    Tensor t;
    t.ne.resize(r.get<uint32_t>());
    for (auto& n : t.ne) n = r.get<uint64_t>();
    t.type = r.get<uint32_t>();
    t.offset = r.get<uint64_t>();
    g.tensors[name] = t;
  }
  g.data_start = (r.pos() + alignment - 1) / alignment * alignment;
  return g;
}

struct Case { const char* format; const char* file; uint32_t type; };
constexpr Case kCases[] = {{"F32", "tiny-bitnet-F32.gguf", type_id::kF32},
                           {"TQ1_0", "tiny-bitnet-TQ1_0.gguf", type_id::kTQ1_0},
                           {"TQ2_0", "tiny-bitnet-TQ2_0.gguf", type_id::kTQ2_0},
                           {"I2_S", "tiny-bitnet-I2_S.gguf", type_id::kI2_S}};

class FixtureDecode : public testing::TestWithParam<Case> {};

TEST_P(FixtureDecode, EveryTernaryTensorMatchesExpectedJson) {
  const Case c = GetParam();
  const nlohmann::json expected = nlohmann::json::parse(std::ifstream(kDir + "expected.json"))["ternary"];
  ASSERT_EQ(expected.size(), 14u);
  const Gguf g = read_gguf(kDir + c.file);
  for (const auto& [name, e] : expected.items()) {
    SCOPED_TRACE(std::string(c.file) + " " + name);
    const Tensor& t = g.tensors.at(name);
    const int64_t rows = e["rows"], cols = e["cols"];
    ASSERT_EQ(t.ne, (std::vector<uint64_t>{uint64_t(cols), uint64_t(rows)}));
    ASSERT_EQ(t.type, c.type);
    const uint64_t n_bytes = ternary_format(t.type)->n_bytes(rows, cols);
    ASSERT_LE(g.data_start + t.offset + n_bytes, g.bytes.size());
    const DecodedTernary d = decode_ternary(
        t.type, {g.bytes.data() + g.data_start + t.offset, n_bytes}, rows, cols, c.file, name);
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
