// quant/gemv_t1_avx2.cpp — T1 kernels for AVX2 (1.6-bit layout in quant/ternary_formats.h,
// contract in quant/gemv_t2.h). One 32-byte block = 160 weights; digit n pairs with
// x[32n .. 32n+31]. Digits as in gemv_t1_avx512.cpp (times 3 by byte adds, carry by saturating
// subtract + min). _mm256_maddubs_epi16(codes {0,1,2}, x s8) is at most 512 per int16 lane, five
// digits of two blocks at most 5120, then _mm256_madd_epi16 widens to int32.
#include <immintrin.h>

#include "quant/gemv_t2.h"

namespace bitlm {
namespace {

struct Codes { __m256i c[5]; };

inline __m256i digit(__m256i t) {
  const __m256i one = _mm256_set1_epi8(1);
  return _mm256_add_epi8(_mm256_min_epu8(_mm256_subs_epu8(t, _mm256_set1_epi8(85)), one),
                         _mm256_min_epu8(_mm256_subs_epu8(t, _mm256_set1_epi8(char(170))), one));
}

inline Codes decode(const uint8_t* block) {
  __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block));
  Codes c;
  c.c[0] = digit(t);
  for (int n = 1; n < 5; ++n) {
    t = _mm256_add_epi8(_mm256_add_epi8(t, t), t);  // times 3 mod 256
    c.c[n] = digit(t);
  }
  return c;
}

inline __m256i load_x(const int8_t* x) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)); }

// int16 sum of one block's 160 products (at most +-2560 per lane)
inline __m256i block_dot16(const Codes& c, const int8_t* x) {
  __m256i s = _mm256_maddubs_epi16(c.c[0], load_x(x));
  for (int n = 1; n < 5; ++n) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.c[n], load_x(x + 32 * n)));
  return s;
}

inline int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

constexpr int kTokenTile = 4;

}  // namespace

void gemv_t1_avx2(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum, int32_t* y,
                  int64_t n_rows) {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = w + r * row_bytes;
    __m256i acc = _mm256_setzero_si256();
    int64_t b = 0;
    for (; b + 64 <= row_bytes; b += 64) {  // two blocks per int16 widening: 5120 fits
      const __m256i s = _mm256_add_epi16(block_dot16(decode(row + b), x + 5 * b),
                                         block_dot16(decode(row + b + 32), x + 5 * b + 160));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(s, ones));
    }
    if (b < row_bytes) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(block_dot16(decode(row + b), x + 5 * b), ones));
    y[r] = hsum(acc) - x_sum;
  }
}

void gemm_t1_avx2(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                  const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t t0 = 0; t0 < T; t0 += kTokenTile) {
    const int nt = int(T - t0 < kTokenTile ? T - t0 : kTokenTile);
    const int8_t* xt = x + t0 * x_stride;
    for (int64_t r = 0; r < n_rows; ++r) {
      const uint8_t* row = w + r * row_bytes;
      __m256i acc[kTokenTile] = {};
      for (int64_t b = 0; b < row_bytes; b += 32) {
        const Codes c = decode(row + b);  // decoded once, used by every token of the tile
        for (int t = 0; t < nt; ++t)
          acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(block_dot16(c, xt + t * x_stride + 5 * b), ones));
      }
      for (int t = 0; t < nt; ++t) y[(t0 + t) * y_stride + r] = hsum(acc[t]) - x_sum[t0 + t];
    }
  }
}

}  // namespace bitlm
