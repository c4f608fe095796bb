// quant/native_rows_avx512.h — the GEMM row loop shared by the AVX-512 int8 kernels of the native
// layouts (T2 in gemv_t2_avx512.cpp, T1 in gemv_t1_avx512.cpp); include only from AVX-512 files.
// Rows go in pairs (one per 256-bit half of a zmm) and tokens in tiles of 8, each block decoded once
// for the whole tile. A Layout supplies `Codes decode(row0, row1)`, `Acc zero()`, `Acc block_dot(Acc,
// const Codes&, const int8_t* x)`, `sum_lo(Acc)` / `sum_hi(Acc)` (row 0 / row 1) and kWeightsPerBlock.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace bitlm::native_avx512 {

template <class Layout>
void gemm_rows(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride, const int32_t* x_sum,
               int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  constexpr int kTokenTile = 8;
  constexpr int64_t kX = Layout::kWeightsPerBlock / 32;  // x bytes per packed byte
  for (int64_t t0 = 0; t0 < T; t0 += kTokenTile) {
    const int nt = int(T - t0 < kTokenTile ? T - t0 : kTokenTile);
    const int8_t* xt = x + t0 * x_stride;
    for (int64_t r = 0; r < n_rows; r += 2) {
      const uint8_t* p0 = w + r * row_bytes;
      const uint8_t* p1 = r + 1 < n_rows ? p0 + row_bytes : p0;
      decltype(Layout::zero()) acc[kTokenTile];
      for (auto& a : acc) a = Layout::zero();
      for (int64_t b = 0; b < row_bytes; b += 32) {
        const auto c = Layout::decode(p0 + b, p1 + b);
        for (int t = 0; t < nt; ++t) acc[t] = Layout::block_dot(acc[t], c, xt + t * x_stride + kX * b);
      }
      for (int t = 0; t < nt; ++t) {
        y[(t0 + t) * y_stride + r] = Layout::sum_lo(acc[t]) - x_sum[t0 + t];
        if (r + 1 < n_rows) y[(t0 + t) * y_stride + r + 1] = Layout::sum_hi(acc[t]) - x_sum[t0 + t];
      }
    }
  }
}

}  // namespace bitlm::native_avx512
