// tests/io/safetensors_test.cpp — SafetensorsWriter -> SafetensorsFile round trip, read_f32
// widening, and one handcrafted corruption per header check.
#include "io/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/fp16.h"
#include "io_test_util.h"

namespace bitlm {
namespace {

using testing::HasSubstr;
using D = SafetensorsDtype;

std::span<const uint8_t> as_bytes_of(const auto& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(v[0])};
}

TEST(Safetensors, RoundTripsEveryDtypeShapesAndMetadata) {
  test::TempDir tmp;
  const std::vector<float> f32 = {1.0f, -2.5f, 3e-8f, 0.0f, 7.0f, -0.0f};
  const std::vector<uint16_t> f16 = {f32_to_fp16(1.5f), f32_to_fp16(-0.25f)};
  const std::vector<uint16_t> bf16 = {f32_to_bf16(3.0f), f32_to_bf16(-1.0f), f32_to_bf16(0.5f)};
  const std::vector<int8_t> i8 = {-128, 0, 127};
  const std::vector<int32_t> i32 = {INT32_MIN, 5};
  const std::vector<int64_t> i64 = {INT64_MAX};
  const std::vector<uint8_t> u8 = {1, 2, 3, 4, 5};
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.add_f32("x.f32", {2, 3}, f32);
  w.add("x.f16", D::kF16, {2}, as_bytes_of(f16));
  w.add("x.bf16", D::kBF16, {3, 1}, as_bytes_of(bf16));
  w.add("x.i8", D::kI8, {3}, as_bytes_of(i8));
  w.add("x.i32", D::kI32, {1, 2}, as_bytes_of(i32));
  w.add("x.i64", D::kI64, {}, as_bytes_of(i64));  // a scalar
  w.add("x.u8", D::kU8, {5}, u8);
  w.add("x.empty", D::kF32, {0, 4}, {});
  w.write(tmp.path("t.safetensors"));

  const auto f = SafetensorsFile::open(tmp.path("t.safetensors"));
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->tensors().size(), 8u);
  EXPECT_EQ(f->read_f32("x.f32"), f32);
  EXPECT_EQ(f->tensor("x.f32").shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(f->read_f32("x.f16"), (std::vector<float>{1.5f, -0.25f}));
  EXPECT_EQ(f->read_f32("x.bf16"), (std::vector<float>{3.0f, -1.0f, 0.5f}));
  const auto& t8 = f->tensor("x.i8");
  EXPECT_EQ(t8.dtype, D::kI8);
  EXPECT_EQ(std::vector<int8_t>(t8.bytes.begin(), t8.bytes.end()), i8);
  const auto& t64 = f->tensor("x.i64");
  EXPECT_TRUE(t64.shape.empty());
  EXPECT_EQ(t64.n_elements(), 1u);
  int64_t v;
  std::memcpy(&v, t64.bytes.data(), 8);
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_EQ(std::vector<uint8_t>(f->tensor("x.u8").bytes.begin(), f->tensor("x.u8").bytes.end()), u8);
  EXPECT_EQ(f->tensor("x.empty").n_elements(), 0u);
  EXPECT_EQ(f->find("nope"), nullptr);
  EXPECT_THROW(f->tensor("nope"), FormatError);
  EXPECT_THROW(f->read_f32("x.i32"), FormatError);

  const auto raw = test::read_bytes(tmp.path("t.safetensors"));
  uint64_t header_bytes;
  std::memcpy(&header_bytes, raw.data(), 8);
  EXPECT_EQ(header_bytes % 8, 0u);  // data section 8-aligned
}

TEST(Safetensors, WriterRejectsBadInput) {
  SafetensorsWriter w;
  const std::vector<float> x(4);
  EXPECT_THROW(w.add_f32("a", {5}, x), UserError);
  EXPECT_THROW(w.add_f32("__metadata__", {4}, x), UserError);
  w.add_f32("a", {4}, x);
  EXPECT_THROW(w.add_f32("a", {2, 2}, x), UserError);
}

// Whatever reference tensors tools/reference/*.py committed must pass the reader's validation.
TEST(Safetensors, CommittedReferenceFilesOpen) {
  const std::filesystem::path dir = std::filesystem::path(BITLM_TEST_DATA_DIR) / "ref";
  int n_files = 0;
  if (std::filesystem::is_directory(dir))
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() != ".safetensors") continue;
      ++n_files;
      const auto f = SafetensorsFile::open(e.path().string());
      EXPECT_FALSE(f->tensors().empty()) << e.path();
      for (const auto& [name, t] : f->tensors())
        if (t.dtype == D::kF32) {
          EXPECT_EQ(f->read_f32(name).size(), t.n_elements()) << e.path() << " " << name;
        }
    }
  if (n_files == 0) GTEST_SKIP() << "no reference files in " << dir;
}

class SafetensorsCorruption : public testing::Test {
 protected:
  std::string error(std::string_view header_json, size_t data_bytes) {
    test::Bytes b;
    b.u64(header_json.size()).raw(header_json).zeros(data_bytes);
    return error_of(b);
  }
  std::string error_of(const test::Bytes& b) {
    const std::string path = tmp_.path("bad.safetensors");
    test::write_bytes(path, b.b);
    try {
      SafetensorsFile::open(path);
    } catch (const FormatError& e) {
      EXPECT_THAT(e.what(), HasSubstr(path));
      return e.what();
    }
    ADD_FAILURE() << "opened without error";
    return "";
  }
  test::TempDir tmp_;
};

TEST_F(SafetensorsCorruption, HeaderProblems) {
  EXPECT_THAT(error_of(test::Bytes().raw("abc")), HasSubstr("3 bytes is too small"));
  test::Bytes huge;
  huge.u64(uint64_t(1) << 40).raw("{}");
  EXPECT_THAT(error_of(huge), HasSubstr("header length 1099511627776 exceeds the file"));
  EXPECT_THAT(error("{\"a\": ", 0), HasSubstr("the header is not valid JSON"));
  EXPECT_THAT(error("[1, 2]", 0), HasSubstr("the header is not a JSON object"));
  EXPECT_THAT(error(R"({"__metadata__": {"k": 1}})", 0), HasSubstr("metadata 'k' is not a string"));
}

TEST_F(SafetensorsCorruption, EntryProblems) {
  EXPECT_THAT(error(R"({"w": 3})", 0), HasSubstr("tensor 'w': header entry is not an object"));
  EXPECT_THAT(error(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4), HasSubstr("tensor 'w': missing or non-string 'dtype'"));
  EXPECT_THAT(error(R"({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}})", 1),
              HasSubstr("tensor 'w': dtype 'F8_E4M3' is not supported"));
  EXPECT_THAT(error(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4),
              HasSubstr("tensor 'w': shape entry -1 is not a non-negative integer"));
  EXPECT_THAT(error(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 4),
              HasSubstr("tensor 'w': 'data_offsets' is not a pair"));
  EXPECT_THAT(error(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4),
              HasSubstr("tensor 'w': data_offsets [0, 8) outside the data section (4 bytes)"));
  EXPECT_THAT(error(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [4, 0]}})", 8), HasSubstr("data_offsets [4, 0)"));
  EXPECT_THAT(error(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8),
              HasSubstr("tensor 'w': shape [3] of F32 needs 12 bytes but data_offsets span 8"));
  EXPECT_THAT(error(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})", 8),
              HasSubstr("needs an overflowing number of bytes"));
  EXPECT_THAT(error(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                        "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}})", 8),
              HasSubstr("tensors 'a' [0, 4) and 'b' [2, 6) overlap"));
}

TEST_F(SafetensorsCorruption, EveryTruncatedPrefixThrows) {
  SafetensorsWriter w;
  const std::vector<float> x = {1, 2, 3};
  w.add_f32("a", {3}, x);
  w.add_f32("b", {1, 1}, std::span(x).first(1));
  w.write(tmp_.path("full.safetensors"));
  const auto full = test::read_bytes(tmp_.path("full.safetensors"));
  for (size_t n = 0; n < full.size(); ++n) {
    test::Bytes b;
    b.b.assign(full.begin(), full.begin() + n);
    EXPECT_FALSE(error_of(b).empty()) << "prefix " << n;
  }
}

}  // namespace
}  // namespace bitlm
