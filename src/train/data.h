// train/data.h — token shards: `bitlm data prepare` writes them, the trainer streams them.
//
// Shard file "<prefix>_<NNNN>.bin" (little-endian):
//   0  char[8]  "BLTOKENS"      16 u64 n_tokens            32 u32 crc32 of the token bytes
//   8  u32      version = 1     24 u32 vocab_size          36 u32 reserved (0)
//   12 u32      token_bytes (2 = uint16, vocab <= 65536; 4 = uint32)     28 u32 reserved (0)
//   40 tokens
// Documents are separated by EOS (after every document). Shards are written atomically, and so is
// the set: prepare_shards stages them all and swaps them in at the end (no mix of old and new).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bitlm {

inline constexpr uint64_t kShardHeaderBytes = 40;

// Splits a corpus into documents: on lines holding only "<|endoftext|>" (TinyStories, see
// shared/data/tinystories/SOURCE.md) when there is one, else on blank lines. Documents are
// trimmed of surrounding newlines; empty ones are dropped.
std::vector<std::string_view> split_documents(std::string_view text);

struct PrepareStats { int64_t n_documents = 0, n_tokens = 0, n_shards = 0; };

using EncodeFn = std::function<std::vector<int32_t>(std::string_view)>;
// Encodes every document of `text`, appends `eos` after each and writes shards of at most
// shard_tokens tokens to "<out_prefix>_0000.bin", ..., replacing every shard of a previous set
// under that prefix (after a crash: the old set, the new one, or none; never a mix). Returns what was written.
PrepareStats prepare_shards(std::string_view text, const EncodeFn& encode, int32_t eos,
                            int32_t vocab_size, const std::string& out_prefix, int64_t shard_tokens);

struct Shard {
  std::string path;
  int32_t vocab_size = 0;
  std::vector<int32_t> tokens;
};
// Reads and validates one shard (FormatError naming the file and field otherwise).
Shard read_shard(const std::string& path);
// The shard files of a prefix, in order; UserError if there are none.
std::vector<std::string> list_shards(const std::string& prefix);

// Streams (inputs, targets) windows of seq_len+1 consecutive tokens, shard after shard, wrapping
// around at the end (epoch + 1). Only the current shard is in memory. The position is the whole
// state: a checkpoint stores it and --resume continues on the same tokens.
class ShardLoader {
 public:
  struct Position { int64_t shard = 0, offset = 0, epoch = 0; };
  ShardLoader(const std::string& prefix, int64_t seq_len);
  int32_t vocab_size() const { return vocab_size_; }
  const Position& position() const { return pos_; }
  void seek(Position p);
  // Fills n_seq rows of seq_len inputs and targets (target = the next token).
  void next(int64_t n_seq, std::span<int32_t> inputs, std::span<int32_t> targets);
  // Skips n_seq windows without copying (other ranks' rows in data-parallel runs).
  void skip(int64_t n_seq);

 private:
  const int32_t* window();  // seq_len+1 tokens at the position, advancing shards as needed
  void load(int64_t shard);
  std::vector<std::string> paths_;
  int64_t seq_len_;
  int32_t vocab_size_ = 0;
  Position pos_;
  int64_t loaded_ = -1;
  Shard shard_;
};

}  // namespace bitlm
