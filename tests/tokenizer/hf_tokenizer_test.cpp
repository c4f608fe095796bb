// tests/tokenizer/hf_tokenizer_test.cpp — read_hf_tokenizer on hand-written tokenizer.json folders: holes
// in the ids become [PAD] tokens, a sparse id that would make millions of them is refused by name, a field
// of another JSON type is a FormatError.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "tokenizer/hf_tokenizer.h"

namespace bitlm {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

// A folder holding only a tokenizer.json whose model.vocab is `vocab` (a JSON object text).
std::string tokenizer_folder(const std::string& name, const std::string& vocab) {
  const fs::path dir = fs::temp_directory_path() / ("bitlm_hftok_" + std::to_string(::getpid()) + "_" + name);
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << R"({"model": {"type": "BPE", "vocab": )" << vocab
                                        << R"(, "merges": []}, "added_tokens": [],)"
                                        << R"( "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}})";
  return dir.string();
}

TEST(HfTokenizer, FewHolesBecomePadTokens) {
  const std::string dir = tokenizer_folder("holes", R"({"a": 0, "b": 1, "c": 5})");
  const HfTokenizer t = read_hf_tokenizer(dir);
  ASSERT_EQ(t.vocab.tokens.size(), 6u);
  EXPECT_EQ(t.vocab.tokens[2], "[PAD2]");
  EXPECT_EQ(t.vocab.tokens[5], "c");
  fs::remove_all(dir);
}

TEST(HfTokenizer, SparseIdThatWouldMakeMillionsOfPadTokensIsRefused) {
  const std::string dir = tokenizer_folder("sparse", R"({"a": 0, "b": 9144444})");
  try {
    read_hf_tokenizer(dir);
    FAIL() << "a vocabulary of 2 tokens at ids 0 and 9144444 was accepted";
  } catch (const UserError& e) {
    EXPECT_THAT(e.what(), HasSubstr("tokenizer.json"));
    EXPECT_THAT(e.what(), HasSubstr("token id 9144444"));
  }
  fs::remove_all(dir);
}

TEST(HfTokenizer, FieldOfAnotherTypeIsAFormatErrorNotACrash) {
  // Found by tokenizer_json_fuzz: "type": 5 in post_processor escaped as nlohmann's type_error.
  const std::string dir = tokenizer_folder("badtype", R"({"a": 0})");
  {
    std::ifstream in(fs::path(dir) / "tokenizer.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.insert(text.rfind('}'), R"(, "post_processor": {"type": 5})");
    std::ofstream(fs::path(dir) / "tokenizer.json") << text;
  }
  try {
    read_hf_tokenizer(dir);
    FAIL() << "a post_processor whose type is a number was accepted";
  } catch (const FormatError& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir));
    EXPECT_THAT(e.what(), HasSubstr("type must be string"));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bitlm
