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

// Prefill GEMM, register-blocked: kRows rows x kTokens tokens per tile, each row's codes decoded
// once per call into a per-thread buffer and read back by every token tile, each x vector loaded
// once per tile step and multiplied with every row's codes (the row loop above loads two vectors
// per vpmaddubsw, and Zen 3 issues two 256-bit loads per cycle: it was load-bound at half of the
// two vpmaddubsw per cycle). Sums stay int16 for kFlushSteps vpmaddubsw (a pair of codes <= 2
// times x >= -128 is >= -512, and 64 of them reach -32768 at most), then widen to int32.
constexpr int kFlushSteps = 64;

// Layout::kCodes code vectors per block of each of the group's rows, [block][code vector][row].
template <class Layout, int kRows>
void decode_group(const uint8_t* w, int64_t row_bytes, int64_t n_rows_here, __m256i* codes) {
  constexpr int kC = Layout::kCodes;
  const int64_t n_blocks = row_bytes / 32;
  for (int64_t i = 0; i < kRows; ++i)
    for (int64_t b = 0; b < n_blocks; ++b) {
      __m256i* out = codes + b * kC * kRows + i;
      if (i < n_rows_here) {
        const auto c = Layout::decode(w + i * row_bytes + 32 * b);
        for (int n = 0; n < kC; ++n) out[n * kRows] = c.c[n];
      } else {
        for (int n = 0; n < kC; ++n) out[n * kRows] = _mm256_setzero_si256();  // a missing row: not stored
      }
    }
}

// The kRows x kTokens tile over every block of the decoded group; y[t * y_stride + i] for i < n_rows_here.
template <class Layout, int kRows, int kTokens>
void tile_decoded(const __m256i* codes, int64_t n_blocks, const int8_t* x, int64_t x_stride, const int32_t* x_sum,
                  int32_t* y, int64_t y_stride, int64_t n_rows_here) {
  constexpr int kC = Layout::kCodes;
  constexpr int64_t kFlushBlocks = kFlushSteps / kC;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc32[kRows][kTokens];
  for (auto& row : acc32)
    for (auto& a : row) a = _mm256_setzero_si256();
  for (int64_t b0 = 0; b0 < n_blocks; b0 += kFlushBlocks) {
    const int64_t b1 = b0 + kFlushBlocks < n_blocks ? b0 + kFlushBlocks : n_blocks;
    __m256i acc[kRows][kTokens];
    for (auto& row : acc)
      for (auto& a : row) a = _mm256_setzero_si256();
    for (int64_t b = b0; b < b1; ++b)
#pragma GCC unroll 8
      for (int n = 0; n < kC; ++n) {
        const __m256i* c = codes + (b * kC + n) * kRows;
        __m256i cr[kRows];
#pragma GCC unroll 8
        for (int i = 0; i < kRows; ++i) cr[i] = _mm256_load_si256(c + i);
        const int8_t* xb = x + Layout::kWeightsPerBlock * b + 32 * n;
#pragma GCC unroll 16
        for (int t = 0; t < kTokens; ++t) {
          __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + t * x_stride));
          __asm__("" : "+x"(xv));  // one load for every row: 256-bit loads issue at two per cycle, as vpmaddubsw
#pragma GCC unroll 8
          for (int i = 0; i < kRows; ++i) {
            acc[i][t] = _mm256_add_epi16(acc[i][t], _mm256_maddubs_epi16(cr[i], xv));
            // Keeps the sum in its register here: GCC otherwise reassociates the kCodes steps of a block
            // into one tree of adds, whose partial sums spill.
            __asm__("" : "+x"(acc[i][t]));
          }
        }
      }
    for (int i = 0; i < kRows; ++i)
      for (int t = 0; t < kTokens; ++t) acc32[i][t] = _mm256_add_epi32(acc32[i][t], _mm256_madd_epi16(acc[i][t], ones));
  }
  for (int i = 0; i < n_rows_here; ++i)
    for (int t = 0; t < kTokens; ++t) y[t * y_stride + i] = hsum(acc32[i][t]) - x_sum[t];
}

// tile_decoded<Layout, kRows, nt> for a run-time nt in [1, kMax].
template <class Layout, int kRows, int kMax>
void tile_decoded_n(int nt, const __m256i* codes, int64_t n_blocks, const int8_t* x, int64_t x_stride,
                    const int32_t* x_sum, int32_t* y, int64_t y_stride, int64_t n_rows_here) {
  if constexpr (kMax > 1)
    if (nt < kMax)
      return tile_decoded_n<Layout, kRows, kMax - 1>(nt, codes, n_blocks, x, x_stride, x_sum, y, y_stride, n_rows_here);
  tile_decoded<Layout, kRows, kMax>(codes, n_blocks, x, x_stride, x_sum, y, y_stride, n_rows_here);
}

// Rows outermost: each group of kGemmRows rows is decoded once per call (the buffer holds
// cols bytes per row: 20.6 KiB for three 6912-wide rows, in L1) and every token tile reads it back.
template <class Layout>
void gemm_rows_decoded_once(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                            const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  constexpr int kRows = Layout::kGemmRows, kTokens = Layout::kGemmTokens;
  const int64_t n_blocks = row_bytes / 32;
  thread_local AlignedBuffer<uint8_t> buffer;
  const size_t bytes = size_t(n_blocks * Layout::kCodes * kRows) * sizeof(__m256i);
  if (buffer.size() < bytes) buffer.resize(bytes, /*zero=*/false);
  __m256i* codes = reinterpret_cast<__m256i*>(buffer.data());
  for (int64_t r0 = 0; r0 < n_rows; r0 += kRows) {
    const int64_t nr = n_rows - r0 < kRows ? n_rows - r0 : kRows;
    decode_group<Layout, kRows>(w + r0 * row_bytes, row_bytes, nr, codes);
    int64_t t0 = 0;
    for (; t0 + kTokens <= T; t0 += kTokens)
      tile_decoded<Layout, kRows, kTokens>(codes, n_blocks, x + t0 * x_stride, x_stride, x_sum + t0,
                                           y + t0 * y_stride + r0, y_stride, nr);
    if (t0 < T)
      tile_decoded_n<Layout, kRows, kTokens>(int(T - t0), codes, n_blocks, x + t0 * x_stride, x_stride, x_sum + t0,
                                             y + t0 * y_stride + r0, y_stride, nr);
  }
}

}  // namespace bitlm::native_avx2
