// quant/native_rows_avx2.h — the row loops shared by the AVX2 int8 kernels of the native layouts
// (T2 in gemv_t2_avx2.cpp, T1 in gemv_t1_avx2.cpp); include only from AVX2-compiled files.
// A Layout supplies `Codes decode(const uint8_t* block)` (one 32-byte block), `__m256i
// block_dot16(const Codes&, const int8_t* x)` (int16 lanes, at most +-2560) and kWeightsPerBlock.
// Two blocks are added in int16 before widening (at most 5120 per lane), then madd to int32.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "core/aligned.h"
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

constexpr int kTokenTile = 4;  // tokens per GEMM tile: four int32 accumulators in registers

// One row's sums for nt <= kTokenTile tokens; codes_of(b) gives block b's codes, used by every token.
template <class Layout, class CodesOf>
void row_tile(int64_t n_blocks, const CodesOf& codes_of, const int8_t* x, int64_t x_stride, const int32_t* x_sum,
              int nt, int32_t* y, int64_t y_stride) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[kTokenTile] = {};
  for (int64_t b = 0; b < n_blocks; ++b) {
    // A reference: a by-value copy of buffered codes went through 16-byte stack moves (3.5x slower).
    const auto& c = codes_of(b);
    for (int t = 0; t < nt; ++t)
      acc[t] = _mm256_add_epi32(
          acc[t], _mm256_madd_epi16(Layout::block_dot16(c, x + t * x_stride + Layout::kWeightsPerBlock * b), ones));
  }
  for (int t = 0; t < nt; ++t) y[t * y_stride] = hsum(acc[t]) - x_sum[t];
}

// Tiles of 4 tokens: each block is decoded once and used by every token of the tile.
template <class Layout>
void gemm_rows(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride, const int32_t* x_sum,
               int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  for (int64_t t0 = 0; t0 < T; t0 += kTokenTile) {
    const int nt = int(T - t0 < kTokenTile ? T - t0 : kTokenTile);
    for (int64_t r = 0; r < n_rows; ++r) {
      const uint8_t* row = w + r * row_bytes;
      row_tile<Layout>(row_bytes / 32, [row](int64_t b) { return Layout::decode(row + 32 * b); }, x + t0 * x_stride,
                       x_stride, x_sum + t0, nt, y + t0 * y_stride + r, y_stride);
    }
  }
}

// gemm_rows for layouts whose decode costs about as much as the multiply-adds it feeds (T1's
// base-3 digits, ~33 byte ops per block against ~11 per token): rows outermost, each group of
// kGroupRows rows decoded once per call into a per-thread buffer that every 4-token tile reads
// back, instead of once per tile (as native_rows_avx512.h's gemm_rows_decoded_once). The buffer
// holds 4 x 44 blocks x 160 bytes = 27.5 KiB for 6912-wide T1 rows.
template <class Layout>
void gemm_rows_decoded_once(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                            const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  constexpr int64_t kGroupRows = 4;
  using Codes = decltype(Layout::decode(w));
  const int64_t n_blocks = row_bytes / 32;
  thread_local AlignedBuffer<Codes> buffer;
  if (buffer.size() < size_t(kGroupRows * n_blocks)) buffer.resize(size_t(kGroupRows * n_blocks), /*zero=*/false);
  Codes* codes = buffer.data();
  for (int64_t r0 = 0; r0 < n_rows; r0 += kGroupRows) {
    const int64_t nr = n_rows - r0 < kGroupRows ? n_rows - r0 : kGroupRows;
    for (int64_t i = 0; i < nr; ++i)
      for (int64_t b = 0; b < n_blocks; ++b) codes[i * n_blocks + b] = Layout::decode(w + (r0 + i) * row_bytes + 32 * b);
    for (int64_t t0 = 0; t0 < T; t0 += kTokenTile) {
      const int nt = int(T - t0 < kTokenTile ? T - t0 : kTokenTile);
      for (int64_t i = 0; i < nr; ++i) {
        const Codes* row = codes + i * n_blocks;
        row_tile<Layout>(n_blocks, [row](int64_t b) -> const Codes& { return row[b]; }, x + t0 * x_stride, x_stride,
                         x_sum + t0, nt, y + t0 * y_stride + r0 + i, y_stride);
      }
    }
  }
}

}  // namespace bitlm::native_avx2
