// tests/tokenizer/vocab_test.cpp — Vocab <-> GGUF keys round trip, one test per inconsistency the
// reader must name, the Unicode classes and the pre-tokenizer splits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace bitlm {
namespace {

using testing::HasSubstr;

Vocab small_bpe_vocab() {
  Vocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  v.tokens = {"a", "b", "ab", "<|endoftext|>"};
  v.types = {1, 1, 1, 3};
  v.merges = {"a b"};
  v.bos = v.eos = 3;
  v.add_bos = false;
  v.add_space_prefix = false;
  return v;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("bitlm_tok_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Writes the vocab's keys, then lets `edit` change or add keys.
std::string write_gguf(const Vocab& v, const std::string& name,
                       const std::function<void(GgufWriter&)>& edit = [](GgufWriter&) {}) {
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  if (!v.tokens.empty()) write_vocab(v, w);
  edit(w);
  const std::string path = temp_path(name);
  w.write(path);
  return path;
}

std::string read_error(const std::string& path) {
  try {
    read_vocab(*GgufFile::open(path));
  } catch (const FormatError& e) {
    std::filesystem::remove(path);
    return e.what();
  }
  std::filesystem::remove(path);
  return "no error";
}

TEST(Vocab, GgufRoundTrip) {
  Vocab v = small_bpe_vocab();
  v.scores = {0.5f, -1.0f, 2.0f, 0.0f};
  v.eot = 3;
  const std::string path = write_gguf(v, "roundtrip.gguf");
  const Vocab r = read_vocab(*GgufFile::open(path));
  std::filesystem::remove(path);
  EXPECT_EQ(r.model, v.model);
  EXPECT_EQ(r.pre, v.pre);
  EXPECT_EQ(r.tokens, v.tokens);
  EXPECT_EQ(r.scores, v.scores);
  EXPECT_EQ(r.types, v.types);
  EXPECT_EQ(r.merges, v.merges);
  EXPECT_EQ(r.bos, 3);
  EXPECT_EQ(r.eos, 3);
  EXPECT_EQ(r.eot, 3);
  EXPECT_EQ(r.unk, -1);
  EXPECT_EQ(r.pad, -1);
  EXPECT_FALSE(r.add_bos);
  EXPECT_FALSE(r.add_space_prefix);
  const auto tok = Tokenizer::from_vocab(r);
  EXPECT_EQ(tok->encode("abab", true), (std::vector<int32_t>{2, 2}));
  EXPECT_EQ(tok->encode("ba", true), (std::vector<int32_t>{1, 0}));
}

// A byte-level BPE vocabulary with no merges (a pure byte tokenizer) is valid — llama.cpp loads it;
// bitlm rejected it with "tokenizer.ggml.merges missing". Written with the (empty) merges key, as
// llama.cpp requires the key, and read back both with it and without it.
TEST(Vocab, EmptyMergesByteTokenizerLoads) {
  Vocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_to_unicode(uint8_t(b)));
  v.tokens.push_back("<|endoftext|>");
  v.types.assign(v.tokens.size(), 1);
  v.types.back() = 3;
  v.bos = v.eos = 256;
  v.add_bos = false;
  v.add_space_prefix = false;
  const std::string path = write_gguf(v, "bytes.gguf");
  EXPECT_TRUE(GgufFile::open(path)->find("tokenizer.ggml.merges") != nullptr);
  const Vocab r = read_vocab(*GgufFile::open(path));
  std::filesystem::remove(path);
  EXPECT_TRUE(r.merges.empty());
  const auto tok = Tokenizer::from_vocab(r);
  const std::string text = "hi \xC3\xA9!";  // "hi é!"
  std::vector<int32_t> bytes;
  for (char c : text) bytes.push_back(int32_t(uint8_t(c)));
  EXPECT_EQ(tok->encode(text, true), bytes);
  EXPECT_EQ(tok->decode(bytes), text);
  // Without the key at all (a file written by another tool) it loads as well.
  const std::string path2 = write_gguf(Vocab{}, "bytes_nokey.gguf", [&](GgufWriter& w) {
    w.set("tokenizer.ggml.model", GgufValue::string("gpt2"));
    w.set("tokenizer.ggml.pre", GgufValue::string("gpt-2"));
    w.set("tokenizer.ggml.tokens", GgufValue::string_array(v.tokens));
  });
  EXPECT_TRUE(GgufFile::open(path2)->find("tokenizer.ggml.merges") == nullptr);
  EXPECT_TRUE(read_vocab(*GgufFile::open(path2)).merges.empty());
  std::filesystem::remove(path2);
}

TEST(Vocab, MissingTokenizerIsNamed) {
  EXPECT_THAT(read_error(write_gguf(Vocab{}, "none.gguf")), HasSubstr("no tokenizer: tokenizer.ggml.tokens missing"));
}

TEST(Vocab, InconsistentLengthsAreNamed) {
  const Vocab v = small_bpe_vocab();
  EXPECT_THAT(read_error(write_gguf(v, "scores.gguf", [](GgufWriter& w) {
                w.set("tokenizer.ggml.scores", GgufValue::f32_array(std::vector<float>{1.0f}));
              })),
              HasSubstr("tokenizer.ggml.scores has 1 entries for 4 tokens"));
  EXPECT_THAT(read_error(write_gguf(v, "types.gguf", [](GgufWriter& w) {
                w.set("tokenizer.ggml.token_type", GgufValue::i32_array(std::vector<int32_t>{1, 1, 9, 1}));
              })),
              HasSubstr("tokenizer.ggml.token_type[2] = 9"));
  EXPECT_THAT(read_error(write_gguf(v, "merges.gguf", [](GgufWriter& w) {
                w.set("tokenizer.ggml.merges", GgufValue::string_array({"ab"}));
              })),
              HasSubstr("tokenizer.ggml.merges[0]"));
}

TEST(Vocab, OutOfRangeIdsAreNamed) {
  const Vocab v = small_bpe_vocab();
  EXPECT_THAT(read_error(write_gguf(v, "bos.gguf", [](GgufWriter& w) {
                w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(4));
              })),
              HasSubstr("tokenizer.ggml.bos_token_id = 4 is out of range"));
  EXPECT_THAT(read_error(write_gguf(v, "model.gguf", [](GgufWriter& w) {
                w.set("tokenizer.ggml.model", GgufValue::string("t5"));
              })),
              HasSubstr("tokenizer.ggml.model: unsupported tokenizer model 't5'"));
  EXPECT_THAT(read_error(write_gguf(v, "pre.gguf", [](GgufWriter& w) {
                w.set("tokenizer.ggml.pre", GgufValue::string("qwen2"));
              })),
              HasSubstr("tokenizer.ggml.pre: unsupported pre-tokenizer 'qwen2'"));
}

TEST(Unicode, Classes) {
  EXPECT_TRUE(is_letter('a'));
  EXPECT_TRUE(is_letter(0x0416));   // Ж
  EXPECT_TRUE(is_letter(0x6211));   // 我
  EXPECT_TRUE(is_number('7'));
  EXPECT_TRUE(is_number(0x00BD));   // ½ is No
  EXPECT_FALSE(is_letter(0x1F999)); // 🦙
  EXPECT_FALSE(is_letter(0x10FFFF));
  EXPECT_TRUE(is_whitespace(0x3000));
  EXPECT_FALSE(is_whitespace(0x200B));  // zero-width space is not White_Space
  EXPECT_EQ(byte_to_unicode(' '), "\xC4\xA0");   // Ġ
  EXPECT_EQ(byte_to_unicode('\n'), "\xC4\x8A");  // Ċ
  for (int b = 0; b < 256; ++b) EXPECT_EQ(byte_from_unicode(utf8_to_codepoints(byte_to_unicode(uint8_t(b)))[0]), b);
  EXPECT_EQ(utf8_to_codepoints("a\xFF" "b"), (std::vector<uint32_t>{'a', kReplacementChar, 'b'}));
  EXPECT_EQ(utf8_to_codepoints("\xE2\x96"), (std::vector<uint32_t>{kReplacementChar, kReplacementChar}));
}

std::vector<std::string> words(PreTokenizer kind, const std::string& text) {
  const std::vector<uint32_t> cpts = utf8_to_codepoints(text);
  std::vector<size_t> ends;
  split_words(kind, cpts, ends);
  std::vector<std::string> out;
  size_t begin = 0;
  for (size_t end : ends) {
    std::string w;
    for (size_t i = begin; i < end; ++i) append_utf8(cpts[i], w);
    out.push_back(w);
    begin = end;
  }
  return out;
}

TEST(PreTokenizer, Gpt2) {
  using V = std::vector<std::string>;
  EXPECT_EQ(words(PreTokenizer::kGpt2, "Hello, y'all!  I'VE 12345 x"),
            (V{"Hello", ",", " y", "'", "all", "!", " ", " I", "'", "VE", " 12345", " x"}));
  EXPECT_EQ(words(PreTokenizer::kGpt2, "a  \n"), (V{"a", "  \n"}));
}

TEST(PreTokenizer, Llama3) {
  using V = std::vector<std::string>;
  EXPECT_EQ(words(PreTokenizer::kLlama3, "Hello, y'all!  I'VE 12345 x"),
            (V{"Hello", ",", " y", "'all", "!", " ", " I", "'VE", " ", "123", "45", " x"}));
  EXPECT_EQ(words(PreTokenizer::kLlama3, "a \n\n b...\r\n"), (V{"a", " \n\n", " b", "...\r\n"}));
  EXPECT_EQ(words(PreTokenizer::kLlama3, ""), V{});
}

}  // namespace
}  // namespace bitlm
