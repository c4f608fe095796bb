// quant/gemv_t2_avx2.cpp — T2 kernels for AVX2 (layout and contract in quant/kernels.h).
// One 32-byte block = 128 weights: code slice k = (byte >> 2k) & 3 pairs with x[32k .. 32k+31];
// _mm256_maddubs_epi16(codes u8 in {0,1,2}, x s8) cannot saturate (|2*128*2| = 512 per lane), four
// slices sum to at most 2048 in int16, then _mm256_madd_epi16 widens to int32.
#include <immintrin.h>

#include "quant/kernels.h"
#include "quant/native_rows_avx2.h"

namespace bitlm {
namespace {

struct Codes { __m256i c[4]; };

inline Codes decode(const uint8_t* block) {
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block));
  return {{_mm256_and_si256(b, m3), _mm256_and_si256(_mm256_srli_epi16(b, 2), m3),
           _mm256_and_si256(_mm256_srli_epi16(b, 4), m3), _mm256_and_si256(_mm256_srli_epi16(b, 6), m3)}};
}

inline __m256i load_x(const int8_t* x) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)); }

// int16 sum of one block's 128 products (at most +-2048 per lane)
inline __m256i block_dot16(const Codes& c, const int8_t* x) {
  const __m256i p0 = _mm256_maddubs_epi16(c.c[0], load_x(x));
  const __m256i p1 = _mm256_maddubs_epi16(c.c[1], load_x(x + 32));
  const __m256i p2 = _mm256_maddubs_epi16(c.c[2], load_x(x + 64));
  const __m256i p3 = _mm256_maddubs_epi16(c.c[3], load_x(x + 96));
  return _mm256_add_epi16(_mm256_add_epi16(p0, p1), _mm256_add_epi16(p2, p3));
}

struct Layout {
  static Codes decode(const uint8_t* block) { return bitlm::decode(block); }
  static __m256i block_dot16(const Codes& c, const int8_t* x) { return bitlm::block_dot16(c, x); }
  static constexpr int64_t kWeightsPerBlock = 128;
  static constexpr int kCodes = 4;
  static constexpr int kGemmRows = 2, kGemmTokens = 4;  // the prefill GEMM tile (native_rows_avx2.h)
};

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace

void gemv_t2_avx2(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum, int32_t* y,
                  int64_t n_rows) {
  native_avx2::gemv_rows<Layout>(w, row_bytes, x, x_sum, y, n_rows);
}

void gemm_t2_avx2(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                  const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  if (T > native_avx2::kTokenTile)
    return native_avx2::gemm_rows_decoded_once<Layout>(w, row_bytes, x, x_stride, x_sum, T, y, y_stride, n_rows);
  native_avx2::gemm_rows<Layout>(w, row_bytes, x, x_stride, x_sum, T, y, y_stride, n_rows);
}

// Codes 0..2 to float, multiplied with x; the caller's x_sum removes the +1 offset.
void gemm_t2_f32_avx2(const uint8_t* w, int64_t row_bytes, const float* x, int64_t x_stride,
                      const float* x_sum, int64_t T, float* y, int64_t y_stride, int64_t n_rows) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = w + r * row_bytes;
    for (int64_t t = 0; t < T; ++t) {
      const float* xt = x + t * x_stride;
      __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
      for (int64_t b = 0; b < row_bytes; b += 32) {
        const Codes c = decode(row + b);
        for (int k = 0; k < 4; ++k) {
          const __m128i lo = _mm256_castsi256_si128(c.c[k]), hi = _mm256_extracti128_si256(c.c[k], 1);
          const float* xk = xt + 4 * b + 32 * k;
          acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), _mm256_loadu_ps(xk), acc0);
          acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))),
                                 _mm256_loadu_ps(xk + 8), acc1);
          acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), _mm256_loadu_ps(xk + 16), acc0);
          acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))),
                                 _mm256_loadu_ps(xk + 24), acc1);
        }
      }
      y[t * y_stride + r] = hsum(_mm256_add_ps(acc0, acc1)) - x_sum[t];
    }
  }
}

float dot_f32_avx2(const float* a, const float* b, int64_t n) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8 * k), _mm256_loadu_ps(b + i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc[0]);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace bitlm
