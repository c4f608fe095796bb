// quant/gemv_t2_ref.cpp — the scalar T2 kernels: the spec every SIMD kernel must equal exactly
// (int8) or within float rounding (f32). Layout and contract in quant/kernels.h.
#include "quant/kernels.h"

namespace bitlm {
namespace {

// dot(code, x) over one row's blocks, codes as stored (w + 1).
int32_t dot_codes(const uint8_t* row, int64_t row_bytes, const int8_t* x) {
  int32_t acc = 0;
  for (int64_t blk = 0; blk < row_bytes; blk += 32, x += 128)
    for (int j = 0; j < 32; ++j)
      for (int k = 0; k < 4; ++k) acc += int32_t((row[blk + j] >> (2 * k)) & 3) * x[32 * k + j];
  return acc;
}

}  // namespace

void gemv_t2_ref(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum, int32_t* y,
                 int64_t n_rows) {
  for (int64_t r = 0; r < n_rows; ++r) y[r] = dot_codes(w + r * row_bytes, row_bytes, x) - x_sum;
}

void gemm_t2_ref(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                 const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  for (int64_t t = 0; t < T; ++t)
    gemv_t2_ref(w, row_bytes, x + t * x_stride, x_sum[t], y + t * y_stride, n_rows);
}

void gemm_t2_f32_ref(const uint8_t* w, int64_t row_bytes, const float* x, int64_t x_stride,
                     const float* x_sum, int64_t T, float* y, int64_t y_stride, int64_t n_rows) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t r = 0; r < n_rows; ++r) {
      const uint8_t* row = w + r * row_bytes;
      const float* xt = x + t * x_stride;
      float acc = 0;
      for (int64_t blk = 0; blk < row_bytes; blk += 32, xt += 128)
        for (int j = 0; j < 32; ++j)
          for (int k = 0; k < 4; ++k) acc += float(int((row[blk + j] >> (2 * k)) & 3) - 1) * xt[32 * k + j];
      y[t * y_stride + r] = acc;
    }
}

float dot_f32_ref(const float* a, const float* b, int64_t n) {
  float acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

}  // namespace bitlm
