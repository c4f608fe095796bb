// tests/train/fault_test.cpp — the training writers under faults: a checkpoint or an exported GGUF
// written while the disk fills up (RLIMIT_FSIZE, tests/io/fault_util.h) fails with an IoError and
// leaves the previous file intact and loadable; `data prepare` replaces a whole shard set or
// nothing (no stale shards of an older, longer set; no mix after a failure).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "io/fault_util.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/export.h"
#include "model/model.h"

namespace bitlm {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

fs::path fresh_dir(const char* name) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("bitlm_fault_test_{}_{}", getpid(), name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

size_t files_in(const fs::path& dir) { return size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator())); }

TrainConfig small_config() {
  TrainConfig c;
  c.model.n_vocab = 64; c.model.n_embd = 32; c.model.n_ff = 64; c.model.n_layer = 1;
  c.model.n_head = 2; c.model.n_head_kv = 1; c.model.seq_len = 8;
  return c;
}

TEST(Faults, CheckpointOnAFullDiskFailsAndKeepsThePreviousOne) {
  const fs::path dir = fresh_dir("ckpt");
  const std::string path = (dir / "checkpoint.safetensors").string();
  const TrainConfig cfg = small_config();
  TrainModel model(cfg.model);
  model.init(1);
  AdamW opt(model.params().size(), cfg.adam);
  TrainState state;
  state.step = 1;
  save_checkpoint(path, cfg, model, opt, state);
  const std::vector<float> saved(model.params().begin(), model.params().end());
  for (float& w : model.params()) w += 1.0f;  // a later step's weights
  {
    test::FileSizeLimit limit(16 << 10);  // the checkpoint needs ~100 KiB
    try {
      state.step = 2;
      save_checkpoint(path, cfg, model, opt, state);
      FAIL() << "the checkpoint was written past the limit";
    } catch (const IoError& e) {
      EXPECT_THAT(e.what(), HasSubstr(path));
      EXPECT_THAT(e.what(), HasSubstr("File too large"));
    }
  }
  EXPECT_EQ(files_in(dir), 1u) << "a temporary file was left behind";
  TrainModel back(cfg.model);
  AdamW back_opt(back.params().size(), cfg.adam);
  EXPECT_EQ(load_checkpoint(path, cfg, back, back_opt).step, 1);
  EXPECT_TRUE(std::equal(saved.begin(), saved.end(), back.params().begin()));
}

TEST(Faults, ExportOnAFullDiskFailsAndKeepsThePreviousGguf) {
  const fs::path dir = fresh_dir("export");
  const std::string path = (dir / "model.gguf").string();
  TrainConfig cfg = small_config();
  TrainModel small(cfg.model);
  small.init(1);
  export_gguf(small, "", path);
  cfg.model.n_layer = 4;
  TrainModel big(cfg.model);
  big.init(2);
  {
    test::FileSizeLimit limit(fs::file_size(path) + 100);
    EXPECT_THROW(export_gguf(big, "", path), IoError);
  }
  EXPECT_EQ(files_in(dir), 1u);
  EXPECT_EQ(Model::load(path)->config.n_layer, 1);
}

TEST(Faults, DataPrepareReplacesTheWholeShardSetOrNothing) {
  const fs::path dir = fresh_dir("shards");
  const std::string prefix = (dir / "train").string();
  const auto bytes = [](std::string_view s) { return std::vector<int32_t>(s.begin(), s.end()); };
  std::string text;
  for (int i = 0; i < 30; ++i) text += fmt::format("document number {}\n\n", i);
  EXPECT_EQ(prepare_shards(text, bytes, 256, 257, prefix, 200).n_shards, 3);
  // A shorter set replaces the whole longer one: no stale _0001, _0002 for the trainer to read on.
  EXPECT_EQ(prepare_shards("one short document", bytes, 256, 257, prefix, 200).n_shards, 1);
  EXPECT_EQ(list_shards(prefix).size(), 1u);
  EXPECT_EQ(files_in(dir), 1u);
  // A failure half-way (an error after the first shards are staged, or a full disk) leaves the
  // previous set as it was.
  prepare_shards(text, bytes, 256, 257, prefix, 200);
  const std::vector<int32_t> first = read_shard(prefix + "_0000.bin").tokens;
  int calls = 0;
  const auto fails_late = [&](std::string_view s) {
    if (++calls == 25) throw UserError("encode failed");
    return bytes(s);
  };
  EXPECT_THROW(prepare_shards(text, fails_late, 256, 257, prefix, 100), UserError);
  {
    test::FileSizeLimit limit(100);
    EXPECT_THROW(prepare_shards(text, bytes, 256, 257, prefix, 100), IoError);
  }
  EXPECT_EQ(list_shards(prefix).size(), 3u);
  EXPECT_EQ(read_shard(prefix + "_0000.bin").tokens, first);
  EXPECT_EQ(files_in(dir), 3u) << "staged shards were left behind";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bitlm
