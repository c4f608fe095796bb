// quant/native_rows_avx2.h — the row loops shared by the AVX2 int8 kernels of the native layouts
// (T2 in gemv_t2_avx2.cpp, T1 in gemv_t1_avx2.cpp); include only from AVX2-compiled files.
// A Layout supplies `Codes decode(const uint8_t* block)` (one 32-byte block), `__m256i
// block_dot16(const Codes&, const int8_t* x)` (int16 lanes, at most +-2560) and kWeightsPerBlock.
// Two blocks are added in int16 before widening (at most 5120 per lane), then madd to int32.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "core/prefetch.h"

namespace bitlm::native_avx2 {

inline int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

template <class Layout>
void gemv_rows(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum, int32_t* y, int64_t n_rows) {
  constexpr int64_t kX = Layout::kWeightsPerBlock / 32;  // x bytes per packed byte
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = w + r * row_bytes;
    __m256i acc = _mm256_setzero_si256();
    int64_t b = 0;
    for (; b + 64 <= row_bytes; b += 64) {
      prefetch_ahead(row + b);
      const __m256i s = _mm256_add_epi16(Layout::block_dot16(Layout::decode(row + b), x + kX * b),
                                         Layout::block_dot16(Layout::decode(row + b + 32), x + kX * (b + 32)));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(s, ones));
    }
    if (b < row_bytes)
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(Layout::block_dot16(Layout::decode(row + b), x + kX * b), ones));
    y[r] = hsum(acc) - x_sum;
  }
}

// Tiles of 4 tokens: each block is decoded once and used by every token of the tile.
template <class Layout>
void gemm_rows(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride, const int32_t* x_sum,
               int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  constexpr int kTokenTile = 4;
  constexpr int64_t kX = Layout::kWeightsPerBlock / 32;
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t t0 = 0; t0 < T; t0 += kTokenTile) {
    const int nt = int(T - t0 < kTokenTile ? T - t0 : kTokenTile);
    const int8_t* xt = x + t0 * x_stride;
    for (int64_t r = 0; r < n_rows; ++r) {
      const uint8_t* row = w + r * row_bytes;
      __m256i acc[kTokenTile] = {};
      for (int64_t b = 0; b < row_bytes; b += 32) {
        const auto c = Layout::decode(row + b);
        for (int t = 0; t < nt; ++t)
          acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(Layout::block_dot16(c, xt + t * x_stride + kX * b), ones));
      }
      for (int t = 0; t < nt; ++t) y[(t0 + t) * y_stride + r] = hsum(acc[t]) - x_sum[t0 + t];
    }
  }
}

}  // namespace bitlm::native_avx2
