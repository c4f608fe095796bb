// ops/rms_norm.cpp — RMSNorm (003 Fig. 11/12 SubLN and the pre-norms), forward and backward.
// Forward: y = x * r * g, r = rstd = 1/sqrt(mean(x^2) + eps) per row. x, y: (T, D) row-major
// views; g: (D).
// Backward: dx_i = r * g_i * dy_i - x_i * r^3 / D * sum_j(dy_j * g_j * x_j);
// dg_i = sum_t dy_ti * x_ti * r_t; rstd: (T) from the forward. Two passes so that each output
// element has one writer: dx by rows, dg by columns.
#include <cmath>

#include "core/error.h"
#include "ops/ops.h"
#include "ops/ops_backward.h"

namespace bitlm {

void rms_norm_forward(Mat<const float> x, std::span<const float> g, float eps, Mat<float> y,
                      std::span<float> rstd) {
  BITLM_ASSERT(int64_t(g.size()) == x.cols && y.cols == x.cols && y.rows == x.rows);
  BITLM_ASSERT(rstd.empty() || int64_t(rstd.size()) == x.rows);
  for (int64_t t = 0; t < x.rows; ++t) {
    const float* xr = x.row_ptr(t);
    float* yr = y.row_ptr(t);
    double sum_sq = 0;  // double: D up to 8k, and the training reference accumulates in double
    for (int64_t i = 0; i < x.cols; ++i) sum_sq += double(xr[i]) * xr[i];
    const float r = float(1.0 / std::sqrt(sum_sq / double(x.cols) + double(eps)));
    for (int64_t i = 0; i < x.cols; ++i) yr[i] = xr[i] * r * g[size_t(i)];
    if (!rstd.empty()) rstd[size_t(t)] = r;
  }
}

void rms_norm_backward(Mat<const float> dy, Mat<const float> x, std::span<const float> g,
                       std::span<const float> rstd, Mat<float> dx, std::span<float> dg,
                       ThreadPool& pool) {
  const int64_t T = x.rows, D = x.cols;
  BITLM_ASSERT(dy.rows == T && dy.cols == D && dx.rows == T && dx.cols == D);
  BITLM_ASSERT(int64_t(g.size()) == D && int64_t(dg.size()) == D && int64_t(rstd.size()) == T);
  pool.parallel_for(0, T, 8, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* dyr = dy.row_ptr(t);
      const float* xr = x.row_ptr(t);
      float* dxr = dx.row_ptr(t);
      double dot = 0;
      for (int64_t i = 0; i < D; ++i) dot += double(dyr[i]) * g[size_t(i)] * xr[i];
      const float r = rstd[size_t(t)];
      const float c = float(dot * double(r) * r * r / double(D));
      for (int64_t i = 0; i < D; ++i) dxr[i] += r * g[size_t(i)] * dyr[i] - xr[i] * c;
    }
  });
  pool.parallel_for(0, D, 64, [&](int64_t i0, int64_t i1) {
    for (int64_t t = 0; t < T; ++t) {
      const float* dyr = dy.row_ptr(t);
      const float* xr = x.row_ptr(t);
      const float r = rstd[size_t(t)];
      for (int64_t i = i0; i < i1; ++i) dg[size_t(i)] += dyr[i] * xr[i] * r;
    }
  });
}

}  // namespace bitlm
