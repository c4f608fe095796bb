// quant/native_rows_avx512.h — the GEMM row loop shared by the AVX-512 int8 kernels of the native
// layouts (T2 in gemv_t2_avx512.cpp, T1 in gemv_t1_avx512.cpp); include only from AVX-512 files.
// A zmm holds one 32-byte block of two rows (one per 256-bit half). A tile is kPairs such row pairs
// x kTokens tokens, all accumulators in registers: each block is decoded once for the whole tile,
// and each broadcast of x feeds every pair's vpdpbusd (one load per kPairs multiply-adds; loads
// and decode ops compete with vpdpbusd for issue slots). The token count is a template argument,
// so the tile's loops unroll with no per-token test.
// A Layout supplies kWeightsPerBlock, kCodes and `decode(row0, row1, __m512i* codes)`: the block's
// unsigned codes as kCodes vectors, vector n multiplying x bytes [32 n, 32 n + 32) of the block.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "core/aligned.h"

namespace bitlm::native_avx512 {

inline __m512i bcast_x(const int8_t* x) {
  return _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
}

inline int32_t reduce(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// The sums of four tokens' accumulators of one row pair, transposed in registers (a few shuffles
// per four tokens instead of a horizontal sum per token and row): 128-bit lane 0 holds row r's
// four sums, lane 2 row r + 1's. int32 adds wrap the same in any order, so this is exact.
inline __m512i reduce4(const __m512i* a) {
  const __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(a[0], a[1]), _mm512_unpackhi_epi32(a[0], a[1]));
  const __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(a[2], a[3]), _mm512_unpackhi_epi32(a[2], a[3]));
  const __m512i s = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
  return _mm512_add_epi32(s, _mm512_shuffle_i32x4(s, s, _MM_SHUFFLE(2, 3, 0, 1)));
}

// y[t * y_stride + r (+1)] = dot - x_sum[t] for one row pair's kTokens accumulators (the scatter
// indexes with int32: 3 * y_stride must fit, as it does for any y a caller can hold).
template <int kTokens>
void store_pair(const __m512i* acc, bool has_second, const int32_t* x_sum, int32_t* y, int64_t y_stride) {
  int t = 0;
  if (kTokens >= 4) {
    const int32_t ys = int32_t(y_stride);
    const __m128i idx = _mm_setr_epi32(0, ys, 2 * ys, 3 * ys);
    for (; t + 4 <= kTokens; t += 4) {
      const __m512i sums = reduce4(acc + t);
      const __m128i xs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x_sum + t));
      _mm_i32scatter_epi32(y + t * y_stride, idx, _mm_sub_epi32(_mm512_castsi512_si128(sums), xs), 4);
      if (has_second)
        _mm_i32scatter_epi32(y + t * y_stride + 1, idx, _mm_sub_epi32(_mm512_extracti32x4_epi32(sums, 2), xs), 4);
    }
  }
  for (; t < kTokens; ++t) {
    y[t * y_stride] = reduce(_mm512_castsi512_si256(acc[t])) - x_sum[t];
    if (has_second) y[t * y_stride + 1] = reduce(_mm512_extracti64x4_epi64(acc[t], 1)) - x_sum[t];
  }
}

// The multiply-adds of a tile: kPairs row pairs x kTokens tokens over n_blocks blocks, block b's
// codes written by codes_of(b, codes) and multiplying x bytes [kWeightsPerBlock b, ...) of each token;
// rows_left says which second rows exist (a missing one was read as a copy of the first, not stored).
template <class Layout, int kPairs, int kTokens, class CodesOf>
void tile_blocks(int64_t n_blocks, const CodesOf& codes_of, const int8_t* x, int64_t x_stride, const int32_t* x_sum,
                 int32_t* y, int64_t y_stride, int64_t rows_left) {
  __m512i acc[kPairs][kTokens];
  for (auto& pair : acc)
    for (auto& a : pair) a = _mm512_setzero_si512();
  for (int64_t b = 0; b < n_blocks; ++b) {
    __m512i codes[kPairs][Layout::kCodes];
    codes_of(b, codes);
    const int8_t* xb = x + Layout::kWeightsPerBlock * b;
    for (int n = 0; n < Layout::kCodes; ++n)
      for (int t = 0; t < kTokens; ++t) {
        const __m512i xv = bcast_x(xb + t * x_stride + 32 * n);
        for (int i = 0; i < kPairs; ++i) acc[i][t] = _mm512_dpbusd_epi32(acc[i][t], codes[i][n], xv);
      }
  }
  for (int i = 0; i < kPairs; ++i) store_pair<kTokens>(acc[i], 2 * i + 1 < rows_left, x_sum, y + 2 * i, y_stride);
}

// Row pair i of rows r .. r + 2 kPairs - 1: its two row pointers (the first twice past the last row).
template <int kPairs>
void pair_rows(const uint8_t* w, int64_t row_bytes, int64_t r, int64_t n_rows, const uint8_t* (&rows)[kPairs][2]) {
  for (int i = 0; i < kPairs; ++i) {
    rows[i][0] = w + (r + 2 * i) * row_bytes;
    rows[i][1] = r + 2 * i + 1 < n_rows ? rows[i][0] + row_bytes : rows[i][0];
  }
}

// Rows r .. r + 2 kPairs - 1 x kTokens tokens, each block decoded as it is used.
template <class Layout, int kPairs, int kTokens>
void tile(const uint8_t* w, int64_t row_bytes, int64_t r, int64_t n_rows, const int8_t* x, int64_t x_stride,
          const int32_t* x_sum, int32_t* y, int64_t y_stride) {
  const uint8_t* rows[kPairs][2];
  pair_rows<kPairs>(w, row_bytes, r, n_rows, rows);
  const auto decode = [&](int64_t b, __m512i (&codes)[kPairs][Layout::kCodes]) {
    for (int i = 0; i < kPairs; ++i) Layout::decode(rows[i][0] + 32 * b, rows[i][1] + 32 * b, codes[i]);
  };
  tile_blocks<Layout, kPairs, kTokens>(row_bytes / 32, decode, x, x_stride, x_sum, y + r, y_stride, n_rows - r);
}

// All rows for kTokens tokens: tiles of kPairs row pairs, then one pair at a time.
template <class Layout, int kPairs, int kTokens>
void rows_for_tokens(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride, const int32_t* x_sum,
                     int32_t* y, int64_t y_stride, int64_t n_rows) {
  int64_t r = 0;
  for (; r + 2 * kPairs <= n_rows; r += 2 * kPairs)
    tile<Layout, kPairs, kTokens>(w, row_bytes, r, n_rows, x, x_stride, x_sum, y, y_stride);
  for (; r < n_rows; r += 2) tile<Layout, 1, kTokens>(w, row_bytes, r, n_rows, x, x_stride, x_sum, y, y_stride);
}

// rows_for_tokens<Layout, kPairs, nt> for a run-time nt in [1, kMax].
template <class Layout, int kPairs, int kMax>
void rows_for_n_tokens(int nt, const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                       const int32_t* x_sum, int32_t* y, int64_t y_stride, int64_t n_rows) {
  if constexpr (kMax > 1)
    if (nt < kMax)
      return rows_for_n_tokens<Layout, kPairs, kMax - 1>(nt, w, row_bytes, x, x_stride, x_sum, y, y_stride, n_rows);
  rows_for_tokens<Layout, kPairs, kMax>(w, row_bytes, x, x_stride, x_sum, y, y_stride, n_rows);
}

// Tiles of Layout::kTokens tokens (Layout::kPairs row pairs), the rest in tiles of at most 8.
template <class Layout>
void gemm_rows(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride, const int32_t* x_sum,
               int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  constexpr int kTail = 8;
  int64_t t0 = 0;
  for (; t0 + Layout::kTokens <= T; t0 += Layout::kTokens)
    rows_for_tokens<Layout, Layout::kPairs, Layout::kTokens>(w, row_bytes, x + t0 * x_stride, x_stride, x_sum + t0,
                                                             y + t0 * y_stride, y_stride, n_rows);
  for (; t0 < T; t0 += kTail) {
    const int nt = int(T - t0 < kTail ? T - t0 : kTail);
    rows_for_n_tokens<Layout, Layout::kPairs, kTail>(nt, w, row_bytes, x + t0 * x_stride, x_stride, x_sum + t0,
                                                     y + t0 * y_stride, y_stride, n_rows);
  }
}

// tile_blocks<Layout, kPairs, nt> for a run-time nt in [1, kMax].
template <class Layout, int kPairs, int kMax, class CodesOf>
void tile_blocks_n(int nt, int64_t n_blocks, const CodesOf& codes_of, const int8_t* x, int64_t x_stride,
                   const int32_t* x_sum, int32_t* y, int64_t y_stride, int64_t rows_left) {
  if constexpr (kMax > 1)
    if (nt < kMax)
      return tile_blocks_n<Layout, kPairs, kMax - 1>(nt, n_blocks, codes_of, x, x_stride, x_sum, y, y_stride, rows_left);
  tile_blocks<Layout, kPairs, kMax>(n_blocks, codes_of, x, x_stride, x_sum, y, y_stride, rows_left);
}

// Rows r .. r + 2 kPairs - 1 for all T tokens, their blocks decoded once into `codes` (n_blocks x
// kPairs x kCodes vectors) and read back from L1 by every token tile.
template <class Layout, int kPairs>
void decoded_once_rows(const uint8_t* w, int64_t row_bytes, int64_t r, int64_t n_rows, const int8_t* x,
                       int64_t x_stride, const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride,
                       __m512i* codes) {
  constexpr int kC = Layout::kCodes, kTokens = Layout::kTokens;
  const int64_t n_blocks = row_bytes / 32;
  const uint8_t* rows[kPairs][2];
  pair_rows<kPairs>(w, row_bytes, r, n_rows, rows);
  for (int64_t b = 0; b < n_blocks; ++b)
    for (int i = 0; i < kPairs; ++i)
      Layout::decode(rows[i][0] + 32 * b, rows[i][1] + 32 * b, codes + (b * kPairs + i) * kC);
  const auto load = [&](int64_t b, __m512i (&c)[kPairs][kC]) {
    for (int i = 0; i < kPairs; ++i)
      for (int n = 0; n < kC; ++n) c[i][n] = codes[(b * kPairs + i) * kC + n];
  };
  int64_t t0 = 0;
  for (; t0 + kTokens <= T; t0 += kTokens)
    tile_blocks<Layout, kPairs, kTokens>(n_blocks, load, x + t0 * x_stride, x_stride, x_sum + t0,
                                         y + t0 * y_stride + r, y_stride, n_rows - r);
  if (t0 < T)
    tile_blocks_n<Layout, kPairs, kTokens>(int(T - t0), n_blocks, load, x + t0 * x_stride, x_stride, x_sum + t0,
                                           y + t0 * y_stride + r, y_stride, n_rows - r);
}

// gemm_rows for layouts whose decode costs about as much as the multiply-adds it feeds (T1's
// base-3 digits): rows outermost, each group of row pairs decoded once per call instead of once
// per token tile. The per-thread buffer holds one group: 27.5 KiB for a 6912-wide T1 row group.
template <class Layout>
void gemm_rows_decoded_once(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                            const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  constexpr int kPairs = Layout::kPairs;
  thread_local AlignedBuffer<uint8_t> buffer;
  const size_t bytes = size_t(row_bytes / 32) * kPairs * Layout::kCodes * sizeof(__m512i);
  if (buffer.size() < bytes) buffer.resize(bytes, /*zero=*/false);
  __m512i* codes = reinterpret_cast<__m512i*>(buffer.data());
  int64_t r = 0;
  for (; r + 2 * kPairs <= n_rows; r += 2 * kPairs)
    decoded_once_rows<Layout, kPairs>(w, row_bytes, r, n_rows, x, x_stride, x_sum, T, y, y_stride, codes);
  for (; r < n_rows; r += 2)
    decoded_once_rows<Layout, 1>(w, row_bytes, r, n_rows, x, x_stride, x_sum, T, y, y_stride, codes);
}

}  // namespace bitlm::native_avx512
