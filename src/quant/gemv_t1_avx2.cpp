// quant/gemv_t1_avx2.cpp — T1 kernels for AVX2 (1.6-bit layout in quant/packed_layout.h,
// contract in quant/kernels.h). One 32-byte block = 160 weights; digit n pairs with
// x[32n .. 32n+31]. Digits as in gemv_t1_avx512.cpp (times 3 by byte adds, carry by saturating
// subtract + min). _mm256_maddubs_epi16(codes {0,1,2}, x s8) is at most 512 per int16 lane, five
// digits of two blocks at most 5120, then _mm256_madd_epi16 widens to int32.
#include <immintrin.h>

#include "quant/kernels.h"
#include "quant/native_rows_avx2.h"

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

struct Layout {
  static Codes decode(const uint8_t* block) { return bitlm::decode(block); }
  static __m256i block_dot16(const Codes& c, const int8_t* x) { return bitlm::block_dot16(c, x); }
  static constexpr int64_t kWeightsPerBlock = 160;
  static constexpr int kCodes = 5;
  static constexpr int kGemmRows = 2, kGemmTokens = 4;  // the prefill GEMM tile (native_rows_avx2.h)
};

}  // namespace

void gemv_t1_avx2(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum, int32_t* y,
                  int64_t n_rows) {
  native_avx2::gemv_rows<Layout>(w, row_bytes, x, x_sum, y, n_rows);
}

void gemm_t1_avx2(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                  const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  if (T > native_avx2::kTokenTile)  // the decode is then shared by two or more token tiles
    return native_avx2::gemm_rows_decoded_once<Layout>(w, row_bytes, x, x_stride, x_sum, T, y, y_stride, n_rows);
  native_avx2::gemm_rows<Layout>(w, row_bytes, x, x_stride, x_sum, T, y, y_stride, n_rows);
}

}  // namespace bitlm
