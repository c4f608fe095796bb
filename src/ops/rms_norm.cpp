// ops/rms_norm.cpp — RMSNorm forward (003 Fig. 11/12 SubLN and the pre-norms): y = x * rstd * g,
// rstd = 1/sqrt(mean(x^2) + eps) per row. x, y: (T, D) row-major views; g: (D).
#include <cmath>

#include "core/error.h"
#include "ops/ops.h"

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

}  // namespace bitlm
