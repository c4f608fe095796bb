// train/pairwise_sum.h — sums a stream of equal-length vectors ("leaves") in one fixed binary
// tree, so that a sum split across processes can associate exactly as a single process does.
//
// The tree is a binary counter: each pushed leaf merges with the last partial sum of its size,
//   s1, s2 -> (s1+s2);  s3, s4 -> ((s1+s2)+(s3+s4));  ...
// and finish() folds what is left from the right: 6 leaves give ((s1+s2)+(s3+s4)) + (s5+s6).
// Why it splits exactly: a run of 2^k leaves starting at a multiple of 2^k always ends as one
// subtree. If N processes each sum 2^k consecutive leaves and their N results are summed again
// with this class in process order, every addition is the one a single process makes over all
// N * 2^k leaves: the result is bit-identical.
#pragma once
#include <algorithm>
#include <span>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"

namespace bitlm {

template <typename T>
class PairwiseSum {
 public:
  // With a pool, the element-wise additions are split across its threads (the same bits).
  explicit PairwiseSum(ThreadPool* pool = nullptr) : pool_(pool) {}

  void push(std::span<const T> leaf) {
    std::vector<T> v = spare(leaf.size());
    std::copy(leaf.begin(), leaf.end(), v.begin());
    push_owned(std::move(v));
  }

  // push() without the copy: takes the leaf's buffer and hands back a spare one of the same size
  // (contents unspecified), for a caller that refills it (the trainer: a model-sized gradient
  // per sequence).
  void push_swap(std::vector<T>& leaf) {
    std::vector<T> v = spare(leaf.size());
    std::swap(v, leaf);
    push_owned(std::move(v));
  }

  // The sum of every leaf pushed since the last finish(); valid until the next push or finish().
  std::vector<T>& finish() {
    BITLM_ASSERT(!stack_.empty());
    while (stack_.size() > 1) {
      std::vector<T> right = std::move(stack_.back().sum);
      stack_.pop_back();
      add_right(stack_.back().sum, right);
      free_.push_back(std::move(right));
    }
    if (!result_.empty()) free_.push_back(std::move(result_));
    result_ = std::move(stack_.back().sum);
    stack_.clear();
    return result_;
  }

 private:
  struct Partial { int level; std::vector<T> sum; };

  void push_owned(std::vector<T> v) {
    int level = 0;
    while (!stack_.empty() && stack_.back().level == level) {
      add_right(stack_.back().sum, v);
      free_.push_back(std::move(v));
      v = std::move(stack_.back().sum);
      stack_.pop_back();
      ++level;
    }
    stack_.push_back({level, std::move(v)});
  }

  void add_right(std::vector<T>& left, const std::vector<T>& right) {
    BITLM_ASSERT(left.size() == right.size());
    auto add = [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) left[size_t(i)] += right[size_t(i)];
    };
    if (pool_) pool_->parallel_for(0, int64_t(left.size()), 4096, add);
    else add(0, int64_t(left.size()));
  }

  // Reuses freed buffers: the trainer sums a model-sized vector per sequence. Every leaf of one
  // sum has the same size, so a buffer of another size is not reused (and no resize() is needed:
  // GCC 12 warned, wrongly, that resizing a moved-from buffer overflows).
  std::vector<T> spare(size_t n) {
    if (free_.empty() || free_.back().size() != n) return std::vector<T>(n);
    std::vector<T> v = std::move(free_.back());
    free_.pop_back();
    return v;
  }

  ThreadPool* pool_;
  std::vector<Partial> stack_;
  std::vector<std::vector<T>> free_;
  std::vector<T> result_;
};

}  // namespace bitlm
