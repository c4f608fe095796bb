// quant/native_rows_neon.h — the row loops shared by the NEON int8 kernels of the native layouts
// (T2 in gemv_t2_neon.cpp, T1 in gemv_t1_neon.cpp); include only from aarch64 dotprod files.
// A Layout supplies `Codes decode(const uint8_t* block)` (one 32-byte block), `int32x4_t
// block_dot(int32x4_t acc, const Codes&, const int8_t* x)` (vdotq_s32 of the codes 0..2 with x)
// and kWeightsPerBlock.
#pragma once
#include <arm_neon.h>

#include <cstdint>

#include "core/prefetch.h"

namespace bitlm::native_neon {

template <class Layout>
void gemv_rows(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum, int32_t* y, int64_t n_rows) {
  constexpr int64_t kX = Layout::kWeightsPerBlock / 32;  // x bytes per packed byte
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = w + r * row_bytes;
    int32x4_t acc = vdupq_n_s32(0);
    for (int64_t b = 0; b < row_bytes; b += 32) {
      prefetch_ahead(row + b);  // as the x86 GEMVs (core/prefetch.h); one PRFM per block keeps the loop plain
      acc = Layout::block_dot(acc, Layout::decode(row + b), x + kX * b);
    }
    y[r] = vaddvq_s32(acc) - x_sum;
  }
}

// Tiles of 4 tokens: each block is decoded once and used by every token of the tile.
template <class Layout>
void gemm_rows(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride, const int32_t* x_sum,
               int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  constexpr int kTokenTile = 4;
  constexpr int64_t kX = Layout::kWeightsPerBlock / 32;
  for (int64_t t0 = 0; t0 < T; t0 += kTokenTile) {
    const int nt = int(T - t0 < kTokenTile ? T - t0 : kTokenTile);
    const int8_t* xt = x + t0 * x_stride;
    for (int64_t r = 0; r < n_rows; ++r) {
      const uint8_t* row = w + r * row_bytes;
      int32x4_t acc[kTokenTile];
      for (auto& a : acc) a = vdupq_n_s32(0);
      for (int64_t b = 0; b < row_bytes; b += 32) {
        const typename Layout::Codes c = Layout::decode(row + b);
        for (int t = 0; t < nt; ++t) acc[t] = Layout::block_dot(acc[t], c, xt + t * x_stride + kX * b);
      }
      for (int t = 0; t < nt; ++t) y[(t0 + t) * y_stride + r] = vaddvq_s32(acc[t]) - x_sum[t0 + t];
    }
  }
}

}  // namespace bitlm::native_neon
