// ops/softmax.cpp — row-wise softmax, forward and backward.
// Forward in place, max-subtracted so exp never overflows; a row of all -inf (nothing visible)
// becomes all zeros rather than NaN. Backward: dx_i += y_i * (dy_i - sum_j dy_j y_j).
#include <cmath>
#include <limits>

#include "core/error.h"
#include "ops/ops.h"
#include "ops/ops_backward.h"

namespace bitlm {

void softmax_forward(Mat<float> x) {
  for (int64_t t = 0; t < x.rows; ++t) {
    float* r = x.row_ptr(t);
    float max_v = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < x.cols; ++i) max_v = std::max(max_v, r[i]);
    if (max_v == -std::numeric_limits<float>::infinity()) {
      for (int64_t i = 0; i < x.cols; ++i) r[i] = 0.0f;
      continue;
    }
    double sum = 0;
    for (int64_t i = 0; i < x.cols; ++i) {
      r[i] = std::exp(r[i] - max_v);
      sum += r[i];
    }
    const float inv = float(1.0 / sum);
    for (int64_t i = 0; i < x.cols; ++i) r[i] *= inv;
  }
}

void softmax_backward(Mat<const float> dy, Mat<const float> y, Mat<float> dx) {
  BITLM_ASSERT(dy.rows == y.rows && dy.cols == y.cols && dx.rows == y.rows && dx.cols == y.cols);
  for (int64_t t = 0; t < y.rows; ++t) {
    const float* dyr = dy.row_ptr(t);
    const float* yr = y.row_ptr(t);
    float* dxr = dx.row_ptr(t);
    double dot = 0;
    for (int64_t i = 0; i < y.cols; ++i) dot += double(dyr[i]) * yr[i];
    for (int64_t i = 0; i < y.cols; ++i) dxr[i] += yr[i] * (dyr[i] - float(dot));
  }
}

}  // namespace bitlm
