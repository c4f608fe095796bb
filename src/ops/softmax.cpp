// ops/softmax.cpp — row-wise softmax in place, max-subtracted so exp never overflows.
// A row of all -inf (nothing visible) becomes all zeros rather than NaN.
#include <cmath>
#include <limits>

#include "ops/ops.h"

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

}  // namespace bitlm
