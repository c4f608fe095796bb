// tests/io/gguf_corruption_test.cpp — one handcrafted corruption per check in GgufFile::open: each
// must raise FormatError naming the file and the problem (never crash, never read out of bounds;
// the ASan build runs these too).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/ggml_types.h"
#include "io/gguf.h"
#include "core/error.h"
#include "io_test_util.h"

namespace bitlm {
namespace {

using test::Bytes;
using testing::HasSubstr;

constexpr uint32_t kString = 8, kArray = 9, kU32 = 4, kU64 = 10, kBool = 7;

Bytes header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
  Bytes b;
  b.raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
  return b;
}

Bytes& kv_string(Bytes& b, std::string_view key, std::string_view value) { return b.str(key).u32(kString).str(value); }
Bytes& kv_u32(Bytes& b, std::string_view key, uint32_t v) { return b.str(key).u32(kU32).u32(v); }

Bytes& tensor_info(Bytes& b, std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
  b.str(name).u32(uint32_t(ne.size()));
  for (uint64_t d : ne) b.u64(d);
  return b.u32(type).u64(offset);
}

// A valid file with one kv and tensors "a" (F32 [4, 2], 32 bytes) and "b" (Q8_0 [32], 34 bytes).
Bytes valid_file() {
  Bytes b = header(2, 1);
  kv_string(b, "general.architecture", "bitnet");
  tensor_info(b, "a", {4, 2}, kGgmlF32, 0);
  tensor_info(b, "b", {32}, kGgmlQ8_0, 32);
  return b.pad_to(32).zeros(32 + 34);
}

// One tensor info after one kv, then `data_bytes` of data.
Bytes one_tensor(std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data_bytes) {
  Bytes b = header(1, 1);
  kv_string(b, "general.architecture", "bitnet");
  tensor_info(b, "blk.0.attn_q.weight", std::move(ne), type, offset);
  return b.pad_to(32).zeros(data_bytes);
}

class GgufCorruption : public testing::Test {
 protected:
  // Writes `b`, opens it, and returns the FormatError message (which must name the file).
  std::string error(const Bytes& b) {
    const std::string path = tmp_.path("bad.gguf");
    test::write_bytes(path, b.b);
    try {
      GgufFile::open(path);
    } catch (const FormatError& e) {
      EXPECT_THAT(e.what(), HasSubstr(path));
      return e.what();
    }
    ADD_FAILURE() << "opened without error";
    return "";
  }
  test::TempDir tmp_;
};

TEST_F(GgufCorruption, TheBaseFileIsValid) {
  const std::string path = tmp_.path("ok.gguf");
  test::write_bytes(path, valid_file().b);
  const auto f = GgufFile::open(path);
  EXPECT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->tensors()[1].offset, f->tensors()[0].offset + 32);
}

TEST_F(GgufCorruption, VersionTwoHasTheSameLayout) {
  Bytes b = valid_file();
  b.b[4] = 2;
  const std::string path = tmp_.path("v2.gguf");
  test::write_bytes(path, b.b);
  EXPECT_EQ(GgufFile::open(path)->version(), 2u);
}

TEST_F(GgufCorruption, EveryTruncatedPrefixThrows) {
  GgufWriter w;  // a file holding every value type, nested arrays and three tensors
  w.set("s", GgufValue::string("hello"));
  w.set("u8", GgufValue::u8(1));
  w.set("i16", GgufValue::i16(-2));
  w.set("f64", GgufValue::f64(0.5));
  w.set("b", GgufValue::boolean(true));
  w.set("strs", GgufValue::string_array({"a", "bc", ""}));
  w.set("nest", GgufValue::array_of(GgufValueType::kArray, {GgufValue::string_array({"x"})}));
  w.add_tensor("t0", {4}, kGgmlF32, std::vector<uint8_t>(16, 1));
  w.add_tensor("t1", {128}, kGgmlI2_S, std::vector<uint8_t>(64, 2));
  w.add_tensor("t2", {256}, kGgmlTQ2_0, std::vector<uint8_t>(66, 3));
  const std::string full_path = tmp_.path("full.gguf");
  w.write(full_path);
  const std::vector<uint8_t> full = test::read_bytes(full_path);
  uint64_t data_end = 0;
  const auto written = GgufFile::open(full_path);
  for (const auto& t : written->tensors()) data_end = std::max(data_end, t.offset + t.n_bytes);
  ASSERT_LT(data_end, full.size() + 1);
  for (size_t n = 0; n < full.size(); ++n) {
    Bytes b;
    b.b.assign(full.begin(), full.begin() + n);
    if (n < data_end) {
      EXPECT_FALSE(error(b).empty()) << "prefix " << n;
    } else {  // only the last tensor's padding is missing: still a complete file
      test::write_bytes(tmp_.path("bad.gguf"), b.b);
      EXPECT_NO_THROW(GgufFile::open(tmp_.path("bad.gguf"))) << "prefix " << n;
    }
  }
}

TEST_F(GgufCorruption, EveryFlippedByteEitherOpensOrThrowsFormatError) {
  const Bytes base = valid_file();
  for (size_t i = 0; i < base.b.size(); ++i)
    for (uint8_t mask : {0xff, 0x01, 0x80}) {
      Bytes b = base;
      b.b[i] ^= mask;
      const std::string path = tmp_.path("flip.gguf");
      test::write_bytes(path, b.b);
      try {
        GgufFile::open(path);
      } catch (const FormatError&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << "byte " << i << ": " << e.what();
      }
    }
}

TEST_F(GgufCorruption, WrongMagic) {
  Bytes b = valid_file();
  std::memcpy(b.b.data(), "GGML", 4);
  EXPECT_THAT(error(b), HasSubstr("bad magic 47 47 4d 4c"));
  EXPECT_THAT(error(Bytes().raw("GG")), HasSubstr("2 bytes is too small to be a GGUF file"));
}

TEST_F(GgufCorruption, BadVersion) {
  EXPECT_THAT(error(header(0, 0, 1)), HasSubstr("unsupported GGUF version 1 (expected 2 or 3)"));
  EXPECT_THAT(error(header(0, 0, 4)), HasSubstr("unsupported GGUF version 4"));
  EXPECT_THAT(error(header(0, 0, 0x03000000)), HasSubstr("big-endian GGUF (version 3) is not supported"));
}

TEST_F(GgufCorruption, CountsLargerThanTheFileCanHold) {
  EXPECT_THAT(error(header(0, uint64_t(1) << 60)), HasSubstr("n_kv = 1152921504606846976 metadata entries cannot fit"));
  EXPECT_THAT(error(header(UINT64_MAX, 0)), HasSubstr("n_tensors = 18446744073709551615 tensor infos cannot fit"));
}

TEST_F(GgufCorruption, StringLengthHuge) {
  Bytes key = header(0, 1);
  key.u64(uint64_t(1) << 40).raw("general.name").u32(kString).str("x");
  EXPECT_THAT(error(key), HasSubstr("metadata key at offset 24: length 1099511627776 exceeds the limit"));
  Bytes value = header(0, 1);
  value.str("general.name").u32(kString).u64(UINT64_MAX - 3).raw("abc");
  EXPECT_THAT(error(value), HasSubstr("truncated: value of key 'general.name' at offset"));
}

TEST_F(GgufCorruption, ArrayCountHuge) {
  Bytes b = header(0, 1);
  b.str("tokenizer.ggml.tokens").u32(kArray).u32(kString).u64(uint64_t(1) << 62).str("a");
  EXPECT_THAT(error(b), HasSubstr("key 'tokenizer.ggml.tokens': array count 4611686018427387904"));
}

TEST_F(GgufCorruption, UnknownValueType) {
  Bytes b = header(0, 1);
  b.str("general.name").u32(13).u32(0);
  EXPECT_THAT(error(b), HasSubstr("key 'general.name': unknown value type 13"));
  Bytes arr = header(0, 1);
  arr.str("scores").u32(kArray).u32(99).u64(1).u32(0);
  EXPECT_THAT(error(arr), HasSubstr("key 'scores': unknown array element type 99"));
}

TEST_F(GgufCorruption, BoolNeitherZeroNorOne) {
  Bytes b = header(0, 1);
  b.str("flag").u32(kBool).u8(2);
  EXPECT_THAT(error(b), HasSubstr("key 'flag': bool value 2 at offset 40 is neither 0 nor 1"));
}

TEST_F(GgufCorruption, ArraysNestedTooDeep) {
  Bytes b = header(0, 1);
  b.str("deep").u32(kArray);
  for (int i = 0; i < 5; ++i) b.u32(kArray).u64(1);
  b.u32(kU32).u64(0);
  EXPECT_THAT(error(b), HasSubstr("key 'deep': arrays nested deeper than 4 levels"));
}

TEST_F(GgufCorruption, DuplicateKey) {
  Bytes b = header(0, 2);
  kv_u32(b, "bitnet.block_count", 2);
  kv_u32(b, "bitnet.block_count", 3);
  EXPECT_THAT(error(b), HasSubstr("duplicate key 'bitnet.block_count'"));
}

TEST_F(GgufCorruption, NDimsZeroAndNine) {
  EXPECT_THAT(error(one_tensor({}, kGgmlF32, 0, 32)), HasSubstr("tensor 'blk.0.attn_q.weight': n_dims = 0 (expected 1 to 4)"));
  EXPECT_THAT(error(one_tensor({1, 1, 1, 1, 1, 1, 1, 1, 1}, kGgmlF32, 0, 32)),
              HasSubstr("tensor 'blk.0.attn_q.weight': n_dims = 9 (expected 1 to 4)"));
}

TEST_F(GgufCorruption, ZeroOrOverflowingDims) {
  EXPECT_THAT(error(one_tensor({4, 0}, kGgmlF32, 0, 32)), HasSubstr("tensor 'blk.0.attn_q.weight': ne[1] = 0 in shape [4, 0]"));
  EXPECT_THAT(error(one_tensor({uint64_t(1) << 32, uint64_t(1) << 32}, kGgmlF32, 0, 32)),
              HasSubstr("the element count of shape [4294967296, 4294967296] overflows"));
  EXPECT_THAT(error(one_tensor({uint64_t(1) << 62}, kGgmlF32, 0, 32)),
              HasSubstr("tensor 'blk.0.attn_q.weight': the byte size of F32 shape [4611686018427387904] overflows"));
}

TEST_F(GgufCorruption, UnknownTensorType) {
  EXPECT_THAT(error(one_tensor({256}, 37, 0, 64)),
              HasSubstr("tensor 'blk.0.attn_q.weight': ggml type 37 is not supported (bitnet.cpp TL1/TL2"));
  EXPECT_THAT(error(one_tensor({256}, 99, 0, 64)), HasSubstr("ggml type 99 is not supported (unknown ggml type)"));
}

TEST_F(GgufCorruption, RowNotAWholeBlock) {
  EXPECT_THAT(error(one_tensor({100}, kGgmlTQ2_0, 0, 66)),
              HasSubstr("tensor 'blk.0.attn_q.weight': ne[0] = 100 is not a multiple of the TQ2_0 block size 256"));
  EXPECT_THAT(error(one_tensor({64, 2}, kGgmlI2_S, 0, 64)), HasSubstr("the I2_S block size 128"));
}

TEST_F(GgufCorruption, MisalignedOffset) {
  EXPECT_THAT(error(one_tensor({4}, kGgmlF32, 4, 64)),
              HasSubstr("tensor 'blk.0.attn_q.weight': data offset 4 is not a multiple of the alignment 32"));
}

TEST_F(GgufCorruption, TensorRunningPastTheEnd) {
  const Bytes b = one_tensor({1024}, kGgmlF32, 0, 100);
  const uint64_t data_start = b.b.size() - 100;
  EXPECT_THAT(error(b), HasSubstr(fmt::format("tensor 'blk.0.attn_q.weight': data [{}, {}) runs past the end of the file ({} bytes)",
                                              data_start, data_start + 4096, b.b.size())));
  EXPECT_THAT(error(one_tensor({4}, kGgmlF32, UINT64_MAX - 31, 100)), HasSubstr("runs past the end of the file"));
}

TEST_F(GgufCorruption, DuplicateTensorName) {
  Bytes b = header(2, 0);
  tensor_info(b, "output_norm.weight", {4}, kGgmlF32, 0);
  tensor_info(b, "output_norm.weight", {4}, kGgmlF32, 32);
  b.pad_to(32).zeros(64);
  EXPECT_THAT(error(b), HasSubstr("duplicate tensor name 'output_norm.weight'"));
}

TEST_F(GgufCorruption, OverlappingTensors) {
  Bytes b = header(2, 0);
  tensor_info(b, "a", {16}, kGgmlF32, 0);
  tensor_info(b, "b", {4}, kGgmlF32, 32);
  b.pad_to(32).zeros(64);
  EXPECT_THAT(error(b), HasSubstr("tensors 'a' [96, 160) and 'b' [128, 144) overlap"));
}

TEST_F(GgufCorruption, AlignmentNotAPowerOfTwo) {
  for (uint32_t a : {48u, 0u}) {
    Bytes b = header(1, 1);
    kv_u32(b, "general.alignment", a);
    tensor_info(b, "a", {4}, kGgmlF32, 0);
    b.pad_to(64).zeros(64);
    EXPECT_THAT(error(b), HasSubstr(fmt::format("key 'general.alignment' = {} is not a power of two", a)));
  }
  Bytes wrong_type = header(0, 1);
  wrong_type.str("general.alignment").u32(kU64).u64(64);
  EXPECT_THAT(error(wrong_type), HasSubstr("key 'general.alignment' has type u64 (expected u32)"));
}

TEST_F(GgufCorruption, AlignmentIsHonoured) {
  Bytes b = header(1, 1);
  kv_u32(b, "general.alignment", 64);
  tensor_info(b, "a", {4}, kGgmlF32, 32);  // aligned to 32 but not to 64
  b.pad_to(64).zeros(128);
  EXPECT_THAT(error(b), HasSubstr("tensor 'a': data offset 32 is not a multiple of the alignment 64"));
}

TEST(GgufOpen, MissingFileIsAnIoErrorNamingThePath) {
  try {
    GgufFile::open("/nonexistent/model.gguf");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/model.gguf: No such file or directory"));
  }
}

}  // namespace
}  // namespace bitlm
