// tests/fuzz/shard_fuzz.cpp — read_shard (the trainer's token shards) on arbitrary bytes; a shard
// that loads holds only ids inside its vocabulary.
#include "fuzz_util.h"
#include "train/data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return bitlm::fuzz::run_on_file(data, size, [](const std::string& path) {
    const bitlm::Shard s = bitlm::read_shard(path);
    FUZZ_CHECK(s.vocab_size > 0);
    for (const int32_t t : s.tokens) FUZZ_CHECK(t >= 0 && t < s.vocab_size);
  });
}
