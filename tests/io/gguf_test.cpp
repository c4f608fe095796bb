// tests/io/gguf_test.cpp — GgufWriter -> GgufFile round trips, typed getters, and the real files
// written by the peers' tools (tiny-bitnet fixture, llama.cpp vocab GGUFs).
#include "io/gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "core/ggml_types.h"
#include "core/error.h"
#include "io_test_util.h"

namespace bitlm {
namespace {

using testing::HasSubstr;
using VT = GgufValueType;

bool same_value(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type || a.scalar != b.scalar) return false;
  if (a.type != VT::kArray) return true;
  if (a.array_type != b.array_type || a.array.size() != b.array.size()) return false;
  for (size_t i = 0; i < a.array.size(); ++i)
    if (!same_value(a.array[i], b.array[i])) return false;
  return true;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7);
  return v;
}

std::vector<std::pair<std::string, GgufValue>> every_value_type() {
  const float floats[] = {1.5f, -0.0f, 3.4e38f, 1e-45f};
  const int32_t ints[] = {INT32_MIN, -1, 0, INT32_MAX};
  return {
      {"t.u8", GgufValue::u8(255)},
      {"t.i8", GgufValue::i8(-128)},
      {"t.u16", GgufValue::u16(65535)},
      {"t.i16", GgufValue::i16(-32768)},
      {"t.u32", GgufValue::u32(4000000000u)},
      {"t.i32", GgufValue::i32(-2000000000)},
      {"t.u64", GgufValue::u64(UINT64_MAX)},
      {"t.i64", GgufValue::i64(INT64_MIN)},
      {"t.f32", GgufValue::f32(0.1f)},
      {"t.f64", GgufValue::f64(0.1)},
      {"t.bool.true", GgufValue::boolean(true)},
      {"t.bool.false", GgufValue::boolean(false)},
      {"t.string", GgufValue::string(std::string("héllo\n\0world", 13))},
      {"t.string.empty", GgufValue::string("")},
      {"t.strings", GgufValue::string_array({"<unk>", "", "Ġthe", std::string(300, 'x')})},
      {"t.f32s", GgufValue::f32_array(floats)},
      {"t.i32s", GgufValue::i32_array(ints)},
      {"t.empty", GgufValue::array_of(VT::kU8, {})},
      {"t.u64s", GgufValue::array_of(VT::kU64, {GgufValue::u64(1), GgufValue::u64(UINT64_MAX)})},
      {"t.bools", GgufValue::array_of(VT::kBool, {GgufValue::boolean(true), GgufValue::boolean(false)})},
      {"t.nested", GgufValue::array_of(VT::kArray, {GgufValue::string_array({"a", "b"}),
                                                     GgufValue::array_of(VT::kString, {})})},
  };
}

TEST(Gguf, RoundTripsEveryValueTypeAndTensorType) {
  test::TempDir tmp;
  GgufWriter w;
  const auto kv = every_value_type();
  for (const auto& [k, v] : kv) w.set(k, v);
  struct T { std::string name; std::vector<uint64_t> ne; uint32_t type; uint64_t n_bytes; };
  const std::vector<T> tensors = {
      {"f32", {3, 5}, kGgmlF32, 60},          {"f16", {7}, kGgmlF16, 14},
      {"q8", {64, 2}, kGgmlQ8_0, 4 * 34},     {"tq2", {256, 3}, kGgmlTQ2_0, 3 * 66},
      {"tq1", {512}, kGgmlTQ1_0, 2 * 54},     {"i2s", {128, 4, 1, 1}, kGgmlI2_S, 128 + 32},
      {"t2", {130, 3}, kGgmlBitlmT2, 3 * 64 + 32},
  };
  for (const auto& t : tensors) w.add_tensor(t.name, t.ne, t.type, pattern(t.n_bytes, uint8_t(t.n_bytes)));

  for (uint64_t alignment : {32, 64, 1}) {
    const std::string path = tmp.path(fmt::format("rt{}.gguf", alignment));
    w.write(path, alignment);
    const auto f = GgufFile::open(path);
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), alignment);
    EXPECT_EQ(f->metadata().size(), kv.size() + (alignment != 32 ? 1 : 0));
    for (const auto& [k, v] : kv) {
      const GgufValue* got = f->find(k);
      ASSERT_NE(got, nullptr) << k;
      EXPECT_TRUE(same_value(*got, v)) << k;
    }
    ASSERT_EQ(f->tensors().size(), tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
      const GgufTensorInfo& t = f->tensors()[i];
      EXPECT_EQ(t.name, tensors[i].name);
      EXPECT_EQ(t.ne, tensors[i].ne);
      EXPECT_EQ(t.type, tensors[i].type);
      EXPECT_EQ(t.n_bytes, tensors[i].n_bytes);
      EXPECT_EQ(t.offset % alignment, 0u) << t.name;
      const auto data = f->tensor_data(t);
      EXPECT_EQ(std::vector<uint8_t>(data.begin(), data.end()), pattern(t.n_bytes, uint8_t(t.n_bytes))) << t.name;
      EXPECT_EQ(f->find_tensor(t.name), &t);
    }
    EXPECT_EQ(f->find_tensor("nope"), nullptr);
  }
}

TEST(Gguf, WriterOutputIsByteStableAcrossARoundTrip) {
  test::TempDir tmp;
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("bitnet"));
  w.set("general.architecture", GgufValue::string("bitnet-2"));  // set() replaces
  w.add_tensor("a", {4}, kGgmlF32, pattern(16, 1));
  w.write(tmp.path("a.gguf"));
  const auto f = GgufFile::open(tmp.path("a.gguf"));
  EXPECT_EQ(f->get_string("general.architecture"), "bitnet-2");
  GgufWriter w2;
  for (const auto& [k, v] : f->metadata()) w2.set(k, v);
  for (const auto& t : f->tensors()) {
    const auto d = f->tensor_data(t);
    w2.add_tensor(t.name, t.ne, t.type, {d.begin(), d.end()});
  }
  w2.write(tmp.path("b.gguf"));
  EXPECT_EQ(test::read_bytes(tmp.path("a.gguf")), test::read_bytes(tmp.path("b.gguf")));
}

// Streamed tensors (bitlm convert): produced one at a time, in order, while the file is written; the
// same bytes as the tensors added whole; a producer that returns the wrong size or throws leaves
// nothing at the path.
TEST(Gguf, StreamedTensorsWriteTheSameFileOneTensorAtATime) {
  test::TempDir tmp;
  GgufWriter whole, streamed;
  std::vector<int> order;
  for (int i = 0; i < 3; ++i) {
    whole.add_tensor("t" + std::to_string(i), {uint64_t(8 + i)}, kGgmlF32, pattern(4 * (8 + i), uint8_t(i)));
    streamed.add_tensor("t" + std::to_string(i), {uint64_t(8 + i)}, kGgmlF32, [i, &order] {
      order.push_back(i);
      return pattern(4 * (8 + i), uint8_t(i));
    });
  }
  whole.write(tmp.path("whole.gguf"));
  streamed.write(tmp.path("streamed.gguf"));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(test::read_bytes(tmp.path("whole.gguf")), test::read_bytes(tmp.path("streamed.gguf")));

  GgufWriter bad;
  bad.add_tensor("ok", {4}, kGgmlF32, [] { return pattern(16, 1); });
  bad.add_tensor("short", {4}, kGgmlF32, [] { return pattern(12, 1); });
  try {
    bad.write(tmp.path("bad.gguf"));
    ADD_FAILURE() << "a short streamed tensor was written";
  } catch (const UserError& e) {
    EXPECT_THAT(e.what(), HasSubstr("tensor 'short': 12 bytes of data, but F32 [4] needs 16"));
  }
  EXPECT_FALSE(std::filesystem::exists(tmp.path("bad.gguf")));
  GgufWriter throws;
  throws.add_tensor("x", {4}, kGgmlF32, []() -> std::vector<uint8_t> { throw FormatError("src", "bad tensor"); });
  EXPECT_THROW(throws.write(tmp.path("throws.gguf")), FormatError);
  EXPECT_FALSE(std::filesystem::exists(tmp.path("throws.gguf")));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(tmp.dir()), {}), 2);  // no temp files
}

TEST(Gguf, TypedGettersConvertAndNameTheKeyOnAMismatch) {
  test::TempDir tmp;
  GgufWriter w;
  for (const auto& [k, v] : every_value_type()) w.set(k, v);
  w.write(tmp.path("g.gguf"));
  const auto f = GgufFile::open(tmp.path("g.gguf"));
  EXPECT_EQ(f->get_uint("t.u8"), 255u);
  EXPECT_EQ(f->get_uint("t.u64"), UINT64_MAX);
  EXPECT_EQ(f->get_uint("absent"), std::nullopt);
  EXPECT_EQ(f->get_float("t.f32"), double(0.1f));
  EXPECT_EQ(f->get_float("t.i16"), -32768.0);
  EXPECT_EQ(f->get_float("t.u32"), 4000000000.0);
  EXPECT_EQ(f->get_bool("t.bool.true"), true);
  EXPECT_EQ(f->get_string("t.string.empty"), "");
  EXPECT_EQ(f->get_string_array("t.strings")[2], "Ġthe");
  EXPECT_TRUE(f->get_string_array("absent").empty());
  EXPECT_EQ(f->get_f32_array("t.f32s")[0], 1.5f);
  EXPECT_EQ(f->get_i32_array("t.i32s")[0], INT32_MIN);

  const std::string path = tmp.path("g.gguf");
  auto error_of = [&](auto fn) -> std::string {
    try {
      fn();
    } catch (const FormatError& e) {
      EXPECT_THAT(e.what(), HasSubstr(path));
      return e.what();
    }
    ADD_FAILURE() << "no FormatError";
    return "";
  };
  EXPECT_THAT(error_of([&] { f->get_uint("t.string"); }), HasSubstr("key 't.string' has type string, expected an integer"));
  EXPECT_THAT(error_of([&] { f->get_uint("t.i8"); }), HasSubstr("key 't.i8' = -128 is negative"));
  EXPECT_THAT(error_of([&] { f->get_float("t.bool.true"); }), HasSubstr("key 't.bool.true' has type bool, expected a numeric"));
  EXPECT_THAT(error_of([&] { f->get_string("t.u8"); }), HasSubstr("key 't.u8' has type u8, expected string"));
  EXPECT_THAT(error_of([&] { f->get_bool("t.string"); }), HasSubstr("key 't.string' has type string, expected bool"));
  EXPECT_THAT(error_of([&] { f->get_string_array("t.f32s"); }), HasSubstr("key 't.f32s' has type array of f32, expected an array of string"));
  EXPECT_THAT(error_of([&] { f->get_f32_array("t.u8"); }), HasSubstr("key 't.u8' has type u8, expected an array of numbers"));
  EXPECT_THAT(error_of([&] { f->get_i32_array("t.u64s"); }), HasSubstr("key 't.u64s': element 1 does not fit in an i32"));
}

TEST(Gguf, WriterRejectsInconsistentInput) {
  test::TempDir tmp;
  GgufWriter w;
  EXPECT_THROW(w.add_tensor("x", {4}, kGgmlF32, pattern(15, 0)), UserError);  // 4 floats need 16 bytes
  EXPECT_THROW(w.add_tensor("x", {100}, kGgmlTQ2_0, pattern(66, 0)), UserError);  // not a whole block
  EXPECT_THROW(w.add_tensor("x", {4}, 37, pattern(16, 0)), UserError);
  EXPECT_THROW(w.add_tensor("x", {0}, kGgmlF32, std::vector<uint8_t>{}), UserError);
  w.add_tensor("x", {4}, kGgmlF32, pattern(16, 0));
  EXPECT_THROW(w.add_tensor("x", {4}, kGgmlF32, pattern(16, 0)), UserError);
  EXPECT_THROW(w.write(tmp.path("a.gguf"), 48), UserError);
  GgufWriter empty_key;
  empty_key.set("", GgufValue::u32(1));
  EXPECT_THROW(empty_key.write(tmp.path("a.gguf")), UserError);
  GgufValue too_big = GgufValue::u8(1);
  too_big.scalar = uint64_t(300);
  w.set("bad", too_big);
  EXPECT_THROW(w.write(tmp.path("a.gguf")), UserError);
  w.set("bad", GgufValue::array_of(VT::kU32, {GgufValue::u64(1)}));  // element of the wrong type
  EXPECT_THROW(w.write(tmp.path("a.gguf")), UserError);
  EXPECT_TRUE(std::filesystem::is_empty(tmp.dir()));  // nothing written, no temp file left
}

// ---- the peers' files ----

const std::string kFixtures = std::string(BITLM_SHARED_DIR) + "/fixtures/tiny-bitnet/";
const std::string kVocabs = std::string(BITLM_SHARED_DIR) + "/data/tokenizers/";

TEST(GgufRealFiles, TinyBitnetFilesHaveTheExpectedSchemaAndSizes) {
  struct Case { const char* file; uint32_t ternary_type; };
  for (const Case c : {Case{"tiny-bitnet-F32.gguf", kGgmlF32}, {"tiny-bitnet-I2_S.gguf", kGgmlI2_S},
                       {"tiny-bitnet-TQ1_0.gguf", kGgmlTQ1_0}, {"tiny-bitnet-TQ2_0.gguf", kGgmlTQ2_0}}) {
    SCOPED_TRACE(c.file);
    const auto f = GgufFile::open(kFixtures + c.file);
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), 32u);
    EXPECT_EQ(f->get_string("general.architecture"), "bitnet");
    EXPECT_EQ(f->get_uint("bitnet.embedding_length"), 256u);
    EXPECT_EQ(f->get_uint("bitnet.block_count"), 2u);
    EXPECT_NEAR(*f->get_float("bitnet.attention.layer_norm_rms_epsilon"), 1e-5, 1e-12);
    EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "llama");
    const auto tokens = f->get_string_array("tokenizer.ggml.tokens");
    ASSERT_EQ(tokens.size(), 32000u);
    EXPECT_EQ(tokens[1], "<s>");
    EXPECT_EQ(f->get_f32_array("tokenizer.ggml.scores").size(), 32000u);
    EXPECT_EQ(f->get_i32_array("tokenizer.ggml.token_type")[0], 2);
    EXPECT_EQ(f->get_uint("tokenizer.ggml.bos_token_id"), 1u);
    EXPECT_EQ(f->get_bool("tokenizer.ggml.add_bos_token"), true);
    ASSERT_EQ(f->tensors().size(), 24u);

    const GgufTensorInfo* q = f->find_tensor("blk.0.attn_q.weight");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->type, c.ternary_type);
    EXPECT_EQ(q->ne, (std::vector<uint64_t>{256, 256}));
    const GgufTensorInfo* down = f->find_tensor("blk.1.ffn_down.weight");
    ASSERT_NE(down, nullptr);
    EXPECT_EQ(down->ne, (std::vector<uint64_t>{768, 256}));
    const uint64_t n = 768 * 256;
    const uint64_t want = c.ternary_type == kGgmlI2_S    ? n / 4 + 32
                          : c.ternary_type == kGgmlTQ1_0 ? n / 256 * 54
                          : c.ternary_type == kGgmlTQ2_0 ? n / 256 * 66
                                                         : n * 4;
    EXPECT_EQ(down->n_bytes, want);
    const GgufTensorInfo* norm = f->find_tensor("output_norm.weight");
    ASSERT_NE(norm, nullptr);
    EXPECT_EQ(norm->type, kGgmlF32);
    float v;
    std::memcpy(&v, f->tensor_data(*norm).data(), 4);
    EXPECT_EQ(v, 2.0f);  // README: output_norm = 2
    uint64_t total = 0;
    for (const auto& t : f->tensors()) total += t.n_bytes;
    EXPECT_LE(total, f->file_size());
  }
}

TEST(GgufRealFiles, I2STailStartsWithTheTensorScale) {
  const auto f = GgufFile::open(kFixtures + "tiny-bitnet-I2_S.gguf");
  const GgufTensorInfo* q = f->find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  float scale;
  std::memcpy(&scale, f->tensor_data(*q).data() + 256 * 256 / 4, 4);
  EXPECT_EQ(scale, 0.266357421875f);  // expected.json ternary["blk.0.attn_q.weight"].scale
}

TEST(GgufRealFiles, VocabOnlyFilesOpen) {
  const auto gpt2 = GgufFile::open(kVocabs + "ggml-vocab-gpt-2.gguf");
  EXPECT_TRUE(gpt2->tensors().empty());
  EXPECT_EQ(gpt2->get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(gpt2->get_string_array("tokenizer.ggml.tokens").size(), 50257u);
  EXPECT_EQ(gpt2->get_string_array("tokenizer.ggml.merges").size(), 50000u);
  EXPECT_EQ(gpt2->get_string_array("tokenizer.ggml.merges")[0], "Ġ t");
  const auto spm = GgufFile::open(kVocabs + "ggml-vocab-llama-spm.gguf");
  EXPECT_EQ(spm->get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(spm->get_string_array("tokenizer.ggml.tokens").size(), 32000u);
}

}  // namespace
}  // namespace bitlm
