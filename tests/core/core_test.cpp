#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <vector>

#include "core/checked.h"
#include "core/error.h"
#include "core/fp16.h"
#include "core/thread_pool.h"

namespace bitlm {
namespace {

TEST(Checked, DetectsOverflow) {
  EXPECT_EQ(checked_add(1, 2), 3u);
  EXPECT_FALSE(checked_add(UINT64_MAX, 1));
  EXPECT_EQ(checked_mul(1u << 20, 1u << 20), uint64_t(1) << 40);
  EXPECT_FALSE(checked_mul(uint64_t(1) << 33, uint64_t(1) << 31));
  EXPECT_EQ(checked_align_up(33, 32), 64u);
  EXPECT_FALSE(checked_align_up(UINT64_MAX - 3, 32));
}

TEST(Fp16, RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint16_t bits = uint16_t(h);
    const float f = fp16_to_f32(bits);
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_fp16(f), bits) << std::hex << h;
  }
}

TEST(Fp16, RoundsToNearestEven) {
  EXPECT_EQ(f32_to_fp16(1.0f + 0x1.0p-11f), 0x3c00);  // halfway, rounds to even (down)
  EXPECT_EQ(f32_to_fp16(1.0f + 0x1.8p-10f), 0x3c02);  // halfway, rounds to even (up)
  EXPECT_EQ(f32_to_fp16(65520.0f), 0x7c00);           // overflows to inf
  EXPECT_EQ(f32_to_fp16(0x1.0p-25f), 0x0000);         // half of the smallest subnormal: to even
  EXPECT_EQ(f32_to_fp16(0x1.8p-25f), 0x0001);
  EXPECT_FLOAT_EQ(fp16_to_f32(0x0001), 0x1.0p-24f);
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(bits_to_f32(0x3f808000u)), 0x3f80);  // tie -> even
  EXPECT_EQ(f32_to_bf16(bits_to_f32(0x3f818000u)), 0x3f82);
}

TEST(ThreadPool, ParallelForCoversRangeOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 7, 64, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.parallel_for(0, n, 4, [&](int64_t b, int64_t e) {
        EXPECT_EQ(b % 4, 0);
        for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
  }
}

TEST(ThreadPool, RunsManyShortJobs) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  for (int j = 0; j < 20000; ++j) pool.run([&](int t, int n) { sum += t + 1; });
  EXPECT_EQ(sum.load(), 20000 * 3);
}

// A worker's exception reaches the caller of run (an uncaught one would terminate the process),
// once every thread is done, and the pool keeps working.
TEST(ThreadPool, RethrowsAJobsExceptionOnTheCaller) {
  ThreadPool pool(3);
  for (int thrower = 0; thrower < 3; ++thrower) {
    std::atomic<int> finished{0};
    EXPECT_THROW(pool.run([&](int t, int) {
      if (t == thrower) throw UserError("job failed");
      ++finished;
    }),
                 UserError);
    EXPECT_EQ(finished.load(), 2);
  }
  std::atomic<int> ran{0};
  pool.run([&](int, int) { ++ran; });
  EXPECT_EQ(ran.load(), 3);
}

}  // namespace
}  // namespace bitlm
