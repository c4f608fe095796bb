// ops/rms_norm.cpp — RMSNorm forward (003 Fig. 11/12 SubLN and the pre-norms): y = x * rstd * g,
// rstd = 1/sqrt(mean(x^2) + eps) per row. x, y: (T, D) row-major views; g: (D). rstd is
// quant/act_rows.h's rms_rstd_rows (one definition, rows interleaved so their double sums overlap).
#include <algorithm>

#include "core/error.h"
#include "ops/ops.h"
#include "quant/act_rows.h"

namespace bitlm {

void rms_norm_forward(Mat<const float> x, std::span<const float> g, float eps, Mat<float> y,
                      std::span<float> rstd) {
  BITLM_ASSERT(int64_t(g.size()) == x.cols && y.cols == x.cols && y.rows == x.rows);
  BITLM_ASSERT(rstd.empty() || int64_t(rstd.size()) == x.rows);
  constexpr int64_t kRows = 64;
  float r[kRows];
  for (int64_t t0 = 0; t0 < x.rows; t0 += kRows) {
    const int64_t nt = std::min(kRows, x.rows - t0);
    // double sums: D up to 8k, and the training reference accumulates in double
    rms_rstd_rows(x.row_ptr(t0), x.stride, nt, x.cols, eps, r);
    for (int64_t j = 0; j < nt; ++j) {
      const float* xr = x.row_ptr(t0 + j);
      float* yr = y.row_ptr(t0 + j);
      for (int64_t i = 0; i < x.cols; ++i) yr[i] = xr[i] * r[j] * g[size_t(i)];
      if (!rstd.empty()) rstd[size_t(t0 + j)] = r[j];
    }
  }
}

}  // namespace bitlm
