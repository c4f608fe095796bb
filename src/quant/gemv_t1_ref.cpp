// quant/gemv_t1_ref.cpp — the scalar T1 kernels (1.6-bit layout in quant/packed_layout.h): the
// spec the SIMD kernels must equal exactly (int8) or within float rounding (f32). Same contract as
// the T2 kernels (quant/kernels.h) with 160-weight blocks of 32 bytes.
#include "quant/kernels.h"

namespace bitlm {
namespace {

// Digit n of a T1 byte as its code w + 1 in {0,1,2}: ((uint8)(b * 3^n) * 3) >> 8 (TQ1_0's rule).
inline int32_t t1_code(uint8_t b, int n) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  return int32_t((unsigned(uint8_t(b * kPow3[n])) * 3) >> 8);
}

int32_t dot_codes(const uint8_t* row, int64_t row_bytes, const int8_t* x) {
  int32_t acc = 0;
  for (int64_t blk = 0; blk < row_bytes; blk += 32, x += 160)
    for (int j = 0; j < 32; ++j)
      for (int n = 0; n < 5; ++n) acc += t1_code(row[blk + j], n) * x[32 * n + j];
  return acc;
}

}  // namespace

void gemv_t1_ref(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum, int32_t* y,
                 int64_t n_rows) {
  for (int64_t r = 0; r < n_rows; ++r) y[r] = dot_codes(w + r * row_bytes, row_bytes, x) - x_sum;
}

void gemm_t1_ref(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                 const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  for (int64_t t = 0; t < T; ++t)
    gemv_t1_ref(w, row_bytes, x + t * x_stride, x_sum[t], y + t * y_stride, n_rows);
}

void gemm_t1_f32_ref(const uint8_t* w, int64_t row_bytes, const float* x, int64_t x_stride,
                     const float* x_sum, int64_t T, float* y, int64_t y_stride, int64_t n_rows) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t r = 0; r < n_rows; ++r) {
      const uint8_t* row = w + r * row_bytes;
      const float* xt = x + t * x_stride;
      float acc = 0;
      for (int64_t blk = 0; blk < row_bytes; blk += 32, xt += 160)
        for (int j = 0; j < 32; ++j)
          for (int n = 0; n < 5; ++n) acc += float(t1_code(row[blk + j], n)) * xt[32 * n + j];
      y[t * y_stride + r] = acc - x_sum[t];
    }
}

}  // namespace bitlm
