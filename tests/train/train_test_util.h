// tests/train/train_test_util.h — what the trainer and sweep tests share: a fresh temp folder per
// test process, and byte-token shards of a small repetitive corpus (vocab 257, EOS 256).
#pragma once
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "train/data.h"

namespace bitlm::test {

inline std::string fresh_temp_dir(const std::string& suite, const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("bitlm_{}_{}", suite, getpid()) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// 40 short "stories" as byte tokens in shards of 500 tokens; returns the shard prefix.
inline std::string byte_story_shards(const std::string& dir) {
  const std::string prefix = dir + "/train";
  std::string text;
  for (int i = 0; i < 40; ++i) text += fmt::format("Story {}: the cat sat on mat {}.\n<|endoftext|>\n", i, i * 7);
  prepare_shards(text, [](std::string_view s) { return std::vector<int32_t>(s.begin(), s.end()); }, 256, 257,
                 prefix, 500);
  return prefix;
}

}  // namespace bitlm::test
