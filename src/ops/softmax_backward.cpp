// ops/softmax_backward.cpp — row softmax backward: dx_i += y_i * (dy_i - sum_j dy_j y_j).
#include "core/error.h"
#include "ops/ops_backward.h"

namespace bitlm {

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
