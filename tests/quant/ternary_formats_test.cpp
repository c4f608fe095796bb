// tests/quant/ternary_formats_test.cpp — codec round trips, hand-built bytes and bad input for
// quant/ternary_formats.h (the fixture test pins the peers' files; this pins the edges).
#include "quant/ternary_formats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/fp16.h"
#include "core/rng.h"
#include "quant/packed_layout.h"

namespace bitlm {
namespace {

std::vector<int8_t> random_ternary(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<int8_t> q(static_cast<size_t>(n));
  for (auto& v : q) v = int8_t(int(rng.below(3)) - 1);
  return q;
}

class TernaryRoundTrip : public testing::TestWithParam<uint32_t> {};

TEST_P(TernaryRoundTrip, EncodeThenDecodeIsIdentity) {
  const float scale = 0.4375f;  // exact in f16 and bf16
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 256}, {3, 512}, {7, 1280}}) {
    const auto q = random_ternary(rows * cols, uint64_t(rows * 131 + cols));
    const auto bytes = encode_ternary(GetParam(), q, rows, cols, scale);
    EXPECT_EQ(bytes.size(), ggml_tensor_bytes(GetParam(), uint64_t(cols), uint64_t(rows * cols)));
    const DecodedTernary d = decode_ternary(GetParam(), bytes, rows, cols, "mem", "w");
    EXPECT_EQ(d.q, q) << rows << "x" << cols;
    EXPECT_EQ(d.scale, scale);
    EXPECT_TRUE(d.uniform_scale);
    EXPECT_FALSE(d.from_latent);
  }
}

// The peers' and the float formats, then every packed layout (a new one is covered by its row).
std::vector<uint32_t> ternary_formats() {
  std::vector<uint32_t> v = {kGgmlTQ1_0, kGgmlTQ2_0, kGgmlI2_S, kGgmlIQ2_BN, kGgmlIQ1_BN, kGgmlF32, kGgmlF16, kGgmlBF16};
  for (const PackedLayout& l : packed_layouts()) v.push_back(l.type);
  return v;
}

INSTANTIATE_TEST_SUITE_P(Formats, TernaryRoundTrip, testing::ValuesIn(ternary_formats()),
                         [](const auto& info) { return ggml_type_name(info.param); });

TEST(TernaryFormats, EveryTernaryTypeHasACodec) {  // core's storage table and quant's codecs agree
  for (uint32_t id = 0; id < 2048; ++id) {
    const GgmlTypeTraits* t = ggml_type_traits(id);
    EXPECT_EQ(t && (t->ternary || id == kGgmlF32 || id == kGgmlF16 || id == kGgmlBF16), is_ternary_format(id)) << id;
    if (t && t->storage == GgmlStorage::kRowsScaleTail) {
      EXPECT_NE(find_packed_layout(id), nullptr) << id;
    }
  }
}

TEST(T2, RowLayoutByHand) {
  std::vector<int8_t> q(130, 0);
  q[0] = 1;     // byte 0 bits 0-1: code 2
  q[32] = -1;   // byte 0 bits 2-3: code 0
  q[97] = 1;    // byte 1 bits 6-7: code 2
  q[129] = -1;  // second block, byte 1 bits 0-1: code 0; tail weights 130..255 are code 0
  std::vector<uint8_t> row(size_t(packed_layout(kGgmlBitlmT2).row_bytes(130)), 0xff);
  ASSERT_EQ(row.size(), 64u);
  packed_layout(kGgmlBitlmT2).pack_row(q.data(), 130, row.data());
  EXPECT_EQ(row[0], 0b01010010);
  EXPECT_EQ(row[1], 0b10010101);
  EXPECT_EQ(row[2], 0b01010101);
  EXPECT_EQ(row[32], 0b00000001);
  EXPECT_EQ(row[33], 0b00000000);
  EXPECT_EQ(row[34], 0b00000000);  // past cols: code 0
  std::vector<int8_t> back(130);
  packed_layout(kGgmlBitlmT2).unpack_row(row.data(), 130, back.data());
  EXPECT_EQ(back, q);
}

TEST(T2, ColsNotAMultipleOf128RoundTrip) {
  for (int64_t cols : {1, 127, 129, 6917}) {
    const auto q = random_ternary(3 * cols, uint64_t(cols));
    const auto bytes = encode_ternary(kGgmlBitlmT2, q, 3, cols, 1.0f);
    EXPECT_EQ(decode_ternary(kGgmlBitlmT2, bytes, 3, cols, "mem", "w").q, q) << cols;
  }
}

TEST(T1, RowLayoutByHand) {
  std::vector<int8_t> q(161, 0);
  q[0] = 1;     // byte 0, digit 0 (most significant): code 2
  q[128] = -1;  // byte 0, digit 4: code 0
  q[33] = 1;    // byte 1, digit 1: code 2
  std::vector<uint8_t> row(size_t(packed_layout(kGgmlBitlmT1).row_bytes(161)), 0);
  ASSERT_EQ(row.size(), 64u);
  packed_layout(kGgmlBitlmT1).pack_row(q.data(), 161, row.data());
  EXPECT_EQ(row[0], (unsigned(2 * 81 + 27 + 9 + 3 + 0) * 256 + 242) / 243);  // 21110_3 = 201 -> 212
  EXPECT_EQ(row[1], (unsigned(81 + 2 * 27 + 9 + 3 + 1) * 256 + 242) / 243);
  EXPECT_EQ(row[33], (unsigned(121) * 256 + 242) / 243);  // past cols: code 1 (w = 0) everywhere
  std::vector<int8_t> back(161);
  packed_layout(kGgmlBitlmT1).unpack_row(row.data(), 161, back.data());
  EXPECT_EQ(back, q);
}

TEST(T1, ColsNotAMultipleOf160RoundTrip) {
  for (int64_t cols : {1, 159, 161, 6917}) {
    const auto q = random_ternary(3 * cols, uint64_t(cols));
    const auto bytes = encode_ternary(kGgmlBitlmT1, q, 3, cols, 1.0f);
    EXPECT_EQ(bytes.size(), uint64_t(3 * packed_layout(kGgmlBitlmT1).row_bytes(cols) + 32));
    EXPECT_EQ(decode_ternary(kGgmlBitlmT1, bytes, 3, cols, "mem", "w").q, q) << cols;
  }
}

TEST(TQ1_0, ByteIsCeilOfBase3FixedPoint) {
  // All +1 (trit 2): 22222_3 = 242 -> ceil(242*256/243) = 255; every trit decodes back.
  std::vector<int8_t> q(256, 1);
  const auto bytes = encode_ternary(kGgmlTQ1_0, q, 1, 256, 1.0f);
  EXPECT_EQ(bytes[0], 255);
  EXPECT_EQ(bytes[48], uint8_t((2 * 81 + 2 * 27 + 2 * 9 + 2 * 3) * 256 / 243 + 1));  // qh: 4 trits, shifted
  EXPECT_EQ(fp16_to_f32(uint16_t(bytes[52] | bytes[53] << 8)), 1.0f);
}

TEST(TQ2_0, DisagreeingBlockScalesAreReported) {
  const auto q = random_ternary(512, 5);
  auto bytes = encode_ternary(kGgmlTQ2_0, q, 1, 512, 0.5f);
  const uint16_t other = f32_to_fp16(0.25f);
  bytes[66 + 64] = uint8_t(other);
  bytes[66 + 65] = uint8_t(other >> 8);
  const DecodedTernary d = decode_ternary(kGgmlTQ2_0, bytes, 1, 512, "mem", "w");
  EXPECT_FALSE(d.uniform_scale);
  EXPECT_EQ(d.scale, 0.5f);
  DecodedTernary out;
  EXPECT_THROW(decode_ternary("mem", "w", kGgmlTQ2_0, bytes, 1, 512, out), FormatError);
}

TEST(TQ2_0, AllZeroBlockScaleIsIgnored) {
  std::vector<int8_t> q(512, 0);
  q[300] = -1;
  auto bytes = encode_ternary(kGgmlTQ2_0, q, 1, 512, 0.5f);
  bytes[64] = 0x00, bytes[65] = 0x3c;  // first (all-zero) block claims d = 1.0
  const DecodedTernary d = decode_ternary(kGgmlTQ2_0, bytes, 1, 512, "mem", "w");
  EXPECT_TRUE(d.uniform_scale);
  EXPECT_EQ(d.scale, 0.5f);
}

// ik_llama.cpp's IQ2_BN as its source defines it (iqk_quantize.cpp quantize_one_row_2bn): per row
// the f32 max |w| (the scale; 0 for a row of zeros, as ik writes it), then per 64 weights 16 bytes,
// byte j = L[j] | L[j+16] << 2 | L[j+32] << 4 | L[j+48] << 6 with L = w + 1.
TEST(IQ2_BN, RowLayoutByHand) {
  std::vector<int8_t> q(3 * 128, 0);
  q[0] = 1, q[16] = -1, q[32] = 0, q[48] = 1;  // row 0, block 0, byte 0: 2 | 0 << 2 | 1 << 4 | 2 << 6
  q[64 + 15] = -1, q[64 + 63] = 1;             // row 0, block 1, byte 15: 0 | 1 << 2 | 1 << 4 | 2 << 6
  q[2 * 128 + 127] = -1;                       // row 2 (row 1 is all zero)
  const auto bytes = encode_ternary(kGgmlIQ2_BN, q, 3, 128, 0.5f);
  ASSERT_EQ(bytes.size(), 3u * (4 + 32));
  const auto f32_at = [&](size_t at) { float f; std::memcpy(&f, bytes.data() + at, 4); return f; };
  EXPECT_EQ(f32_at(0), 0.5f);
  EXPECT_EQ(bytes[4 + 0], 0x92);
  EXPECT_EQ(bytes[4 + 1], 0x55);  // four zeros: code 1 in each pair
  EXPECT_EQ(bytes[4 + 16 + 15], 0x94);
  EXPECT_EQ(f32_at(36), 0.0f);    // the all-zero row
  EXPECT_EQ(bytes[36 + 4], 0x55);
  EXPECT_EQ(f32_at(72), 0.5f);
  EXPECT_EQ(bytes[72 + 4 + 16 + 15], 0x15);  // weight 127 = 48 + 15 + 64: bits 6-7 code 0
  const DecodedTernary d = decode_ternary(kGgmlIQ2_BN, bytes, 3, 128, "mem", "w");
  EXPECT_EQ(d.q, q);
  EXPECT_EQ(d.scale, 0.5f);
  EXPECT_EQ(ggml_tensor_bytes(kGgmlIQ2_BN, 512, 1024), 2u * (4 + 128));
  EXPECT_FALSE(ggml_tensor_bytes(kGgmlIQ2_BN, 96, 96).has_value());
}

TEST(IQ2_BN, RowsWithDifferentScalesAndCodeThreeAreFormatErrors) {
  const auto q = random_ternary(2 * 64, 5);
  auto bytes = encode_ternary(kGgmlIQ2_BN, q, 2, 64, 0.5f);
  bytes[20 + 3] = 0x3f, bytes[20 + 2] = 0x80;  // row 1's scale: 1.0
  EXPECT_FALSE(decode_ternary(kGgmlIQ2_BN, bytes, 2, 64, "mem", "w").uniform_scale);
  DecodedTernary out;
  EXPECT_THROW(decode_ternary("f", "w", kGgmlIQ2_BN, bytes, 2, 64, out), FormatError);
  bytes = encode_ternary(kGgmlIQ2_BN, q, 2, 64, 0.5f);
  bytes[4] = 0xff;  // code 3
  EXPECT_THROW(decode_ternary(kGgmlIQ2_BN, bytes, 2, 64, "f", "w"), FormatError);
  try {
    encode_ternary(kGgmlIQ2_BN, random_ternary(96, 1), 1, 96, 1.0f, "tensor 'blk.0.ffn_down.weight'");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.ffn_down.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("64"), std::string::npos) << e.what();
  }
}

// ik_llama.cpp's IQ1_BN as its source defines it (quantize_one_row_1bn): fp16 row max, then per 64
// weights ql[12] + extra; ql[3i + k] = ceil(v * 256 / 243) of v = sum_j 3^j (w[16i + 5k + j] + 1),
// extra the same of sum_i 3^i (w[16i + 15] + 1).
TEST(IQ1_BN, RowLayoutByHand) {
  std::vector<int8_t> q(2 * 64, 0);
  q[0] = 1, q[1] = -1, q[4] = 1;  // ql[0]: v = 2 + 0 * 3 + 1 * 9 + 1 * 27 + 2 * 81 = 200 -> ceil(51200 / 243) = 211
  q[15] = -1, q[63] = 1;          // extra: v = 0 + 1 * 3 + 1 * 9 + 2 * 27 = 66 -> ceil(16896 / 243) = 70
  q[64 + 20] = -1;                // row 1: its scale too
  const auto bytes = encode_ternary(kGgmlIQ1_BN, q, 2, 64, 0.5f);
  ASSERT_EQ(bytes.size(), 2u * (2 + 13));
  EXPECT_EQ(bytes[0], 0x00);
  EXPECT_EQ(bytes[1], 0x38);  // fp16 0.5
  EXPECT_EQ(bytes[2 + 0], 211);
  EXPECT_EQ(bytes[2 + 1], 128);  // weights 5..9, all zero: v = 121 -> ceil(30976 / 243) = 128
  EXPECT_EQ(bytes[2 + 12], 70);
  const DecodedTernary d = decode_ternary(kGgmlIQ1_BN, bytes, 2, 64, "mem", "w");
  EXPECT_EQ(d.q, q);
  EXPECT_EQ(d.scale, 0.5f);
  EXPECT_EQ(ggml_tensor_bytes(kGgmlIQ1_BN, 512, 1024), 2u * (2 + 8 * 13));
  EXPECT_EQ(ternary_cols_multiple(kGgmlIQ1_BN), 64);
  EXPECT_EQ(load_layout(kGgmlIQ1_BN), kGgmlBitlmT1);  // 1.625 bits stay 1.6 bits in memory
}

TEST(WriteTypes, NamesAndRowMultiples) {
  EXPECT_EQ(ternary_write_type("tq1_0"), kGgmlTQ1_0);
  EXPECT_EQ(ternary_write_type("tq2_0"), kGgmlTQ2_0);
  EXPECT_EQ(ternary_write_type("t1"), kGgmlBitlmT1);
  EXPECT_EQ(ternary_write_type("iq2_bn"), kGgmlIQ2_BN);
  EXPECT_THROW(ternary_write_type("q4_0"), UserError);
  for (const TernaryWriteType& t : ternary_write_types()) {
    EXPECT_TRUE(is_ternary_write_type(t.type)) << t.name;
    EXPECT_NE(ternary_write_type_help().find(t.name), std::string::npos);
  }
  EXPECT_FALSE(is_ternary_write_type(kGgmlF16));
  EXPECT_EQ(ternary_cols_multiple(kGgmlTQ1_0), 256);
  EXPECT_EQ(ternary_cols_multiple(kGgmlI2_S), 128);
  EXPECT_EQ(ternary_cols_multiple(kGgmlIQ2_BN), 64);
  EXPECT_EQ(ternary_cols_multiple(kGgmlBitlmT1), 1);
}

TEST(Encode, RowsThatAreNotWholeBlocksNameTheTensor) {
  const auto q = random_ternary(688, 2);
  try {
    encode_ternary(kGgmlTQ1_0, q, 1, 688, 1.0f, "tensor 'blk.0.ffn_down.weight'");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.ffn_down.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("256"), std::string::npos) << e.what();
  }
}

TEST(Decode, BadInputThrowsFormatError) {
  const auto q = random_ternary(256, 1);
  auto bytes = encode_ternary(kGgmlI2_S, q, 1, 256, 1.0f);
  EXPECT_THROW(decode_ternary(kGgmlI2_S, {bytes.data(), bytes.size() - 1}, 1, 256, "f", "w"), FormatError);
  EXPECT_THROW(decode_ternary(kGgmlTQ2_0, bytes, 1, 100, "f", "w"), FormatError);  // cols % 256
  EXPECT_THROW(decode_ternary(kGgmlQ8_0, bytes, 1, 256, "f", "w"), FormatError);   // not ternary
  bytes[0] = 0xff;  // code 3
  EXPECT_THROW(decode_ternary(kGgmlI2_S, bytes, 1, 256, "f", "w"), FormatError);
  bytes = encode_ternary(kGgmlI2_S, q, 1, 256, -1.0f);
  EXPECT_THROW(decode_ternary(kGgmlI2_S, bytes, 1, 256, "f", "w"), FormatError);
}

TEST(FloatTensors, LatentWeightsAreAbsmeanQuantized) {
  const std::vector<float> w = {0.5f, 1.0f, -1.5f, 0.1f, 3.0f, -0.9f};  // 003 eq. 3-5, beta = 7/6
  const DecodedTernary d = decode_ternary(
      kGgmlF32, {reinterpret_cast<const uint8_t*>(w.data()), w.size() * 4}, 2, 3, "f", "w");
  EXPECT_TRUE(d.from_latent);
  EXPECT_FLOAT_EQ(d.scale, 7.0f / 6.0f);
  EXPECT_EQ(d.q, (std::vector<int8_t>{0, 1, -1, 0, 1, -1}));
}

TEST(FloatTensors, AlreadyTernaryKeepsScaleExactly) {
  const float s = 0.1f;  // not a power of two: the exact float must survive
  const std::vector<float> w = {s, 0, -s, -s, 0, 0};
  const DecodedTernary d = decode_ternary(
      kGgmlF32, {reinterpret_cast<const uint8_t*>(w.data()), w.size() * 4}, 2, 3, "f", "w");
  EXPECT_FALSE(d.from_latent);
  EXPECT_EQ(d.scale, s);
  EXPECT_EQ(d.q, (std::vector<int8_t>{1, 0, -1, -1, 0, 0}));
}

TEST(FloatTensors, NonFiniteIsAFormatError) {
  const std::vector<float> w = {1, NAN};
  EXPECT_THROW(decode_ternary(kGgmlF32, {reinterpret_cast<const uint8_t*>(w.data()), 8}, 1, 2, "f", "w"),
               FormatError);
}

std::vector<float> random_floats(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = float(rng.normal());
  return x;
}

double max_rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  double amax = 0, err = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    amax = std::max(amax, double(std::fabs(a[i])));
    err = std::max(err, double(std::fabs(a[i] - b[i])));
  }
  return err / amax;
}

TEST(Dense, RoundTripsWithinTheFormatsPrecision) {
  const int64_t cols = 512;
  const auto x = random_floats(cols, 9);
  for (auto [type, tol] : {std::pair<uint32_t, double>{kGgmlF32, 0}, {kGgmlF16, 5e-4},
                           {kGgmlBF16, 4e-3}, {kGgmlQ8_0, 6e-3}, {kGgmlQ6_K, 3e-2}}) {
    std::vector<uint8_t> row(dense_row_bytes(type, cols));
    encode_dense_row(type, x.data(), cols, row.data());
    std::vector<float> y(static_cast<size_t>(cols));
    decode_dense_row(type, row.data(), cols, y.data());
    EXPECT_LE(max_rel_err(x, y), tol) << type;
  }
}

TEST(Dense, Q8_0ByHand) {
  std::vector<float> x(32, 0.0f);
  x[0] = 2.54f;  // d = 0.02, q = 127
  x[1] = -1.27f;  // q = -63.5 -> roundf away from zero = -64
  uint8_t row[34];
  encode_dense_row(kGgmlQ8_0, x.data(), 32, row);
  EXPECT_EQ(int8_t(row[2]), 127);
  EXPECT_EQ(int8_t(row[3]), -64);
}

TEST(Dense, RowBytesAndBadShapes) {
  EXPECT_EQ(dense_row_bytes(kGgmlQ8_0, 64), 68u);
  EXPECT_EQ(dense_row_bytes(kGgmlQ6_K, 512), 420u);
  EXPECT_EQ(dense_row_bytes(kGgmlBF16, 3), 6u);
  EXPECT_THROW(dense_row_bytes(kGgmlQ6_K, 100), UserError);
  EXPECT_THROW(dense_row_bytes(kGgmlTQ2_0, 256), UserError);
  EXPECT_FALSE(dense_type_supported(kGgmlI2_S));
}

}  // namespace
}  // namespace bitlm
