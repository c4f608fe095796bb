// tests/train/pairwise_sum_test.cpp — the pairwise tree splits exactly: runs of 2^k leaves summed
// apart (as MPI ranks do) and then summed again give the bits of one sum over all the leaves.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "train/pairwise_sum.h"

namespace bitlm {
namespace {

std::vector<std::vector<float>> random_leaves(int n, size_t len) {
  std::mt19937 gen(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto leaves = std::vector<std::vector<float>>(size_t(n), std::vector<float>(len));
  for (auto& leaf : leaves)
    for (float& x : leaf) x = normal(gen) * std::exp2(float(int(gen() % 20) - 10));  // wide magnitudes
  return leaves;
}

std::vector<float> one_sum(const std::vector<std::vector<float>>& leaves) {
  PairwiseSum<float> sum;
  for (const auto& leaf : leaves) sum.push(leaf);
  return sum.finish();
}

// The leaves split into `parts` consecutive runs, each summed apart, then the parts' sums summed.
std::vector<float> split_sum(const std::vector<std::vector<float>>& leaves, int parts) {
  PairwiseSum<float> part, total;
  const size_t per = leaves.size() / size_t(parts);
  for (size_t p = 0; p < size_t(parts); ++p) {
    for (size_t i = 0; i < per; ++i) part.push(leaves[p * per + i]);
    total.push(part.finish());
  }
  return total.finish();
}

TEST(PairwiseSum, PowerOfTwoRunsSumToTheSameBits) {
  for (const auto& [n, parts] : std::vector<std::pair<int, int>>{{8, 2}, {8, 4}, {8, 8}, {6, 3}, {12, 3}, {40, 5}}) {
    const auto leaves = random_leaves(n, 257);
    EXPECT_EQ(split_sum(leaves, parts), one_sum(leaves)) << n << " leaves in " << parts << " parts";
  }
}

TEST(PairwiseSum, TheTreeIsTheDocumentedOne) {
  const auto leaves = random_leaves(6, 33);
  std::vector<float> want(33);
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& s = leaves;
    want[i] = ((s[0][i] + s[1][i]) + (s[2][i] + s[3][i])) + (s[4][i] + s[5][i]);
  }
  EXPECT_EQ(one_sum(leaves), want);
  PairwiseSum<float> reused;  // buffers are recycled between sums
  for (int round = 0; round < 3; ++round) {
    for (const auto& leaf : leaves) reused.push(leaf);
    EXPECT_EQ(reused.finish(), want);
  }
}

// The trainer's path: leaves swapped in (no copy) and the additions split over 3 threads give the
// bits of plain pushes.
TEST(PairwiseSum, SwappedLeavesAndThreadedAdditionsGiveTheSameBits) {
  const auto leaves = random_leaves(6, 10007);
  ThreadPool pool(3);
  PairwiseSum<float> swapped(&pool);
  std::vector<float> buffer;
  for (int round = 0; round < 2; ++round) {
    for (const auto& leaf : leaves) {
      buffer = leaf;
      swapped.push_swap(buffer);
      EXPECT_EQ(buffer.size(), leaf.size());
    }
    EXPECT_EQ(swapped.finish(), one_sum(leaves));
  }
}

}  // namespace
}  // namespace bitlm
