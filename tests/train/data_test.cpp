// tests/train/data_test.cpp — document splitting, shard round trip (uint16 and uint32), corrupt
// shards refused, and the streaming loader's windows and resumable position.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "train/data.h"

namespace bitlm {
namespace {

std::vector<int32_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

std::string temp_prefix(const char* name) {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("bitlm_data_test_{}", getpid());
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

TEST(SplitDocuments, EndOfTextLinesThenBlankLines) {
  const auto docs = split_documents("One.\nTwo lines.\n<|endoftext|>\nB story.\n\nsame story\n<|endoftext|>\n");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], "One.\nTwo lines.");
  EXPECT_EQ(docs[1], "B story.\n\nsame story");  // with <|endoftext|> present, blank lines stay
  const auto blank = split_documents("a b\nc\n\n\nd\n  \ne");
  ASSERT_EQ(blank.size(), 3u);
  EXPECT_EQ(blank[0], "a b\nc");
  EXPECT_EQ(blank[2], "e");
}

TEST(Shards, RoundTripWithEosBetweenDocumentsAndSplitAcrossShards) {
  for (int32_t vocab : {257, 70000}) {
    const std::string prefix = temp_prefix(vocab == 257 ? "u16" : "u32");
    const auto st = prepare_shards("ab\n<|endoftext|>\ncde\n<|endoftext|>\n", bytes_of, 256, vocab, prefix, 4);
    EXPECT_EQ(st.n_documents, 2);
    EXPECT_EQ(st.n_tokens, 7);
    EXPECT_EQ(st.n_shards, 2);
    std::vector<int32_t> all;
    for (const auto& p : list_shards(prefix)) {
      const Shard s = read_shard(p);
      EXPECT_EQ(s.vocab_size, vocab);
      all.insert(all.end(), s.tokens.begin(), s.tokens.end());
    }
    EXPECT_EQ(all, (std::vector<int32_t>{'a', 'b', 256, 'c', 'd', 'e', 256}));
    EXPECT_EQ(std::filesystem::file_size(prefix + "_0000.bin"), kShardHeaderBytes + 4 * (vocab == 257 ? 2 : 4));
  }
}

TEST(Shards, CorruptOrTruncatedShardIsRefused) {
  const std::string prefix = temp_prefix("corrupt");
  prepare_shards("hello world", bytes_of, 256, 257, prefix, 100);
  const std::string path = prefix + "_0000.bin";
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(kShardHeaderBytes + 3);
    f.put('X');
  }
  EXPECT_THROW(read_shard(path), FormatError);
  std::filesystem::resize_file(path, kShardHeaderBytes + 5);
  EXPECT_THROW(read_shard(path), FormatError);
  EXPECT_THROW(list_shards(prefix + "_missing"), UserError);
}

// Found by tests/fuzz/shard_fuzz.cpp: vocab_size 0xfffffe2c became a negative int32, every token
// id passed the range check against it, and the trainer would have indexed the embedding with them.
TEST(Shards, VocabSizeOutsideInt32IsRefused) {
  try {
    read_shard(std::string(BITLM_TEST_DATA_DIR) + "/fuzz/shard/negative_vocab_size.bin");
    FAIL() << "a shard with vocab_size 4294966828 was read";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("vocab_size = 4294966828 is out of range"), std::string::npos) << e.what();
  }
}

TEST(ShardLoader, WindowsAreShiftedByOneAndPositionResumes) {
  const std::string prefix = temp_prefix("loader");
  std::string text;
  for (int i = 0; i < 10; ++i) text += std::string(1, char('a' + i)) + "\n\n";
  prepare_shards(text, bytes_of, 256, 257, prefix, 9);  // 20 tokens: shards of 9, 9, 2
  ShardLoader loader(prefix, 3);
  std::vector<int32_t> in(6), tgt(6);
  loader.next(2, in, tgt);
  EXPECT_EQ(in, (std::vector<int32_t>{'a', 256, 'b', 256, 'c', 256}));
  EXPECT_EQ(tgt, (std::vector<int32_t>{256, 'b', 256, 'c', 256, 'd'}));
  const ShardLoader::Position saved = loader.position();
  loader.next(2, in, tgt);  // crosses into shard 1
  const auto expected = in;
  ShardLoader resumed(prefix, 3);
  resumed.seek(saved);
  resumed.next(2, in, tgt);
  EXPECT_EQ(in, expected);
  loader.skip(4);  // shard 2 (2 tokens) holds no window: wrap to shard 0, 2 windows in 0 and 1
  EXPECT_EQ(loader.position().epoch, 1);
  EXPECT_EQ(loader.position().shard, 1);
  EXPECT_EQ(loader.position().offset, 6);
}

}  // namespace
}  // namespace bitlm
