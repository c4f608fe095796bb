// ops/cross_entropy.cpp — softmax cross-entropy over the vocabulary, fused with its
// gradient: loss_t = logsumexp(z_t) - z_t[y_t]; dz_t = softmax(z_t) - onehot(y_t).
// logits: (T, V). exp is ops/exp_lanes.h's (float, <= 2 ulp, vectorized), its sum and the
// log in double. Per-row losses are summed in row order (double), independent of threads.
#include <cmath>
#include <vector>

#include "core/error.h"
#include "ops/ops_backward.h"
#include "ops/exp_lanes.h"

namespace bitlm {
namespace {

struct RowStats { float max; double sum_exp; };

// exps: V floats of scratch, left holding exp(z_i - max) for the gradient (one exp per logit).
RowStats row_stats(const float* z, int64_t V, float* exps) {
  const float m = max_lanes(z, V);
  for (int64_t i = 0; i < V; ++i) exps[i] = z[i] - m;
  exp_inplace(exps, V);
  return {m, sum_lanes(exps, V)};
}

double row_loss(const float* z, int32_t target, RowStats st) {
  return std::log(st.sum_exp) + double(st.max) - double(z[target]);
}

void check(Mat<const float> logits, std::span<const int32_t> targets) {
  BITLM_ASSERT(int64_t(targets.size()) == logits.rows && logits.cols > 0);
  for (int32_t y : targets) BITLM_ASSERT(y < logits.cols);
}

}  // namespace

double cross_entropy_forward_backward(Mat<float> logits, std::span<const int32_t> targets,
                                      float grad_scale, ThreadPool& pool) {
  check(logits, targets);
  const int64_t V = logits.cols;
  std::vector<double> losses(size_t(logits.rows), 0.0);
  pool.parallel_for(0, logits.rows, 4, [&](int64_t t0, int64_t t1) {
    std::vector<float> exps(static_cast<size_t>(V));
    for (int64_t t = t0; t < t1; ++t) {
      float* z = logits.row_ptr(t);
      const int32_t y = targets[size_t(t)];
      if (y < 0) {
        for (int64_t i = 0; i < V; ++i) z[i] = 0;
        continue;
      }
      const RowStats st = row_stats(z, V, exps.data());
      losses[size_t(t)] = row_loss(z, y, st);
      const float inv = float(1.0 / st.sum_exp);
      for (int64_t i = 0; i < V; ++i) z[i] = (exps[size_t(i)] * inv) * grad_scale;
      z[y] -= grad_scale;
    }
  });
  double total = 0;
  for (double l : losses) total += l;
  return total;
}

double cross_entropy_loss(Mat<const float> logits, std::span<const int32_t> targets,
                          ThreadPool& pool) {
  check(logits, targets);
  std::vector<double> losses(size_t(logits.rows), 0.0);
  pool.parallel_for(0, logits.rows, 4, [&](int64_t t0, int64_t t1) {
    std::vector<float> exps(static_cast<size_t>(logits.cols));
    for (int64_t t = t0; t < t1; ++t) {
      const int32_t y = targets[size_t(t)];
      if (y >= 0) losses[size_t(t)] = row_loss(logits.row_ptr(t), y, row_stats(logits.row_ptr(t), logits.cols, exps.data()));
    }
  });
  double total = 0;
  for (double l : losses) total += l;
  return total;
}

}  // namespace bitlm
