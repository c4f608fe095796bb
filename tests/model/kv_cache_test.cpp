// tests/model/kv_cache_test.cpp — the q8/q4 KV cache: its size and the type names (its perplexity
// acceptance is in tests/eval/fixture_perplexity_test.cpp).
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "core/sys.h"
#include "model/kv_cache.h"

namespace bitlm {
namespace {

TEST(KvCache, BytesPerType) {
  // 2 layers x 16 positions x 2 heads of 40: f16 2 B/value; q8/q4 2 blocks per head (one partial).
  EXPECT_EQ(KvCache(2, 16, 80, 40, KvCacheType::kF16).n_bytes(), 2u * 2 * 16 * 80 * 2);
  EXPECT_EQ(KvCache(2, 16, 80, 40, KvCacheType::kQ8).n_bytes(), 2u * 2 * 16 * 4 * 34);
  EXPECT_EQ(KvCache(2, 16, 80, 40, KvCacheType::kQ4).n_bytes(), 2u * 2 * 16 * 4 * 18);
}

TEST(KvCache, CommitMakesTheWholeCacheResident) {
  // 64 MiB, allocated fresh (mmap): untouched until commit() writes it.
  KvCache kv(4, 4096, 1024, 128, KvCacheType::kF16);
  const uint64_t before = current_rss_bytes();
  kv.commit();
  const uint64_t after = current_rss_bytes();
  EXPECT_GE(after - before, kv.n_bytes() * 9 / 10) << before << " -> " << after;
  EXPECT_EQ(kv.n_pos(), 0);
}

TEST(KvCache, TypeNames) {
  for (KvCacheType t : {KvCacheType::kF16, KvCacheType::kQ8, KvCacheType::kQ4})
    EXPECT_EQ(parse_kv_type(kv_type_name(t)), t);
  EXPECT_THROW(parse_kv_type("q3"), UserError);
}

}  // namespace
}  // namespace bitlm
