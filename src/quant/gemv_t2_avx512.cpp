// quant/gemv_t2_avx512.cpp — T2 kernels for AVX-512 VNNI + BW (layout and contract in
// quant/kernels.h). A zmm holds the same 32-byte block of two rows (r in the low half, r+1 in the
// high half); the matching x slice is broadcast to both halves, and _mm512_dpbusd_epi32
// (u8 codes x s8 x, summed into int32) needs no int16 step and no widening.
// GEMV: one shift per block: slices 0 and 2 are masked to their codes, slices 1 and 3 are masked
// in place (4 * code) into a separate "odd" accumulator that is divided by 4 at the end (exact).
// GEMM (native_rows_avx512.h) decodes a block once per tile of tokens, so it shifts all four
// slices down to plain codes (two more shifts per block) and keeps one accumulator per token.
#include "core/intrinsics_x86.h"  // first: <immintrin.h> without GCC 12's false warnings

#include "core/prefetch.h"
#include "quant/kernels.h"
#include "quant/native_rows_avx512.h"

namespace bitlm {
namespace {

struct Codes { __m512i c[4]; };  // c[0], c[2]: codes; c[1], c[3]: 4 * codes
struct Acc { __m512i even, odd; };

// Block b of rows r0 and r1 (r1 == r0 for an odd last row: its high half is then ignored).
inline Codes decode(const uint8_t* r0, const uint8_t* r1) {
  const __m512i m3 = _mm512_set1_epi8(3), m12 = _mm512_set1_epi8(12);
  const __m512i b = _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0))),
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1)), 1);
  const __m512i b4 = _mm512_srli_epi16(b, 4);
  return {{_mm512_and_si512(b, m3), _mm512_and_si512(b, m12), _mm512_and_si512(b4, m3), _mm512_and_si512(b4, m12)}};
}

using native_avx512::bcast_x;
using native_avx512::reduce;

inline Acc zero() { return {_mm512_setzero_si512(), _mm512_setzero_si512()}; }

inline Acc block_dot(Acc a, const Codes& c, const int8_t* x) {
  a.even = _mm512_dpbusd_epi32(a.even, c.c[0], bcast_x(x));
  a.odd = _mm512_dpbusd_epi32(a.odd, c.c[1], bcast_x(x + 32));
  a.even = _mm512_dpbusd_epi32(a.even, c.c[2], bcast_x(x + 64));
  a.odd = _mm512_dpbusd_epi32(a.odd, c.c[3], bcast_x(x + 96));
  return a;
}

// dot(code, x) of row r (low half) or r + 1 (high half); the odd sum is an exact multiple of 4
inline int32_t sum_lo(const Acc& a) {
  return reduce(_mm512_castsi512_si256(a.even)) + (reduce(_mm512_castsi512_si256(a.odd)) >> 2);
}
inline int32_t sum_hi(const Acc& a) {
  return reduce(_mm512_extracti64x4_epi64(a.even, 1)) + (reduce(_mm512_extracti64x4_epi64(a.odd, 1)) >> 2);
}

struct GemmLayout {  // slice n of byte j: bits 2n, 2n + 1, weight j + 32 n of the block
  static constexpr int64_t kWeightsPerBlock = 128;
  static constexpr int kPairs = 2, kTokens = 8;  // tile: row pairs x tokens
  static constexpr int kCodes = 4;
  static void decode(const uint8_t* r0, const uint8_t* r1, __m512i* codes) {
    const __m512i m3 = _mm512_set1_epi8(3);
    const __m512i b = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0))),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1)), 1);
    codes[0] = _mm512_and_si512(b, m3);  // 16-bit shifts: bits shifted in from the next byte are masked off
    codes[1] = _mm512_and_si512(_mm512_srli_epi16(b, 2), m3);
    codes[2] = _mm512_and_si512(_mm512_srli_epi16(b, 4), m3);
    codes[3] = _mm512_and_si512(_mm512_srli_epi16(b, 6), m3);
  }
};

}  // namespace

void gemv_t2_avx512(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum, int32_t* y,
                    int64_t n_rows) {
  int64_t r = 0;
  for (; r + 4 <= n_rows; r += 4) {  // four rows share every broadcast of x
    const uint8_t* p = w + r * row_bytes;
    Acc a01 = zero(), a23 = zero();
    for (int64_t b = 0; b < row_bytes; b += 32) {
      prefetch_ahead(p + 4 * b);  // the four rows are contiguous: 128 bytes (two lines) per block
      prefetch_ahead(p + 4 * b + 64);
      a01 = block_dot(a01, decode(p + b, p + row_bytes + b), x + 4 * b);
      a23 = block_dot(a23, decode(p + 2 * row_bytes + b, p + 3 * row_bytes + b), x + 4 * b);
    }
    y[r] = sum_lo(a01) - x_sum;
    y[r + 1] = sum_hi(a01) - x_sum;
    y[r + 2] = sum_lo(a23) - x_sum;
    y[r + 3] = sum_hi(a23) - x_sum;
  }
  for (; r < n_rows; r += 2) {
    const uint8_t* p0 = w + r * row_bytes;
    const uint8_t* p1 = r + 1 < n_rows ? p0 + row_bytes : p0;
    Acc acc = zero();
    for (int64_t b = 0; b < row_bytes; b += 32) acc = block_dot(acc, decode(p0 + b, p1 + b), x + 4 * b);
    y[r] = sum_lo(acc) - x_sum;
    if (r + 1 < n_rows) y[r + 1] = sum_hi(acc) - x_sum;
  }
}

void gemm_t2_avx512(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                    const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  native_avx512::gemm_rows<GemmLayout>(w, row_bytes, x, x_stride, x_sum, T, y, y_stride, n_rows);
}

}  // namespace bitlm
