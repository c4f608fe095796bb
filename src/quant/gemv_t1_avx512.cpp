// quant/gemv_t1_avx512.cpp — T1 kernels for AVX-512 VNNI + BW (1.6-bit layout in
// quant/packed_layout.h, contract in quant/kernels.h). A zmm holds the same 32-byte block of two
// rows (r low, r+1 high), as in gemv_t2_avx512.cpp. Byte t_n = b * 3^n mod 256 comes from t_{n-1}
// with two byte adds, and digit n is code_n = floor(3 t_n / 256), so 3 t_n = 256 code_n + t_{n+1}.
//  - GEMM (prefill) extracts the codes once per block, [t_n >= 86] + [t_n >= 171] (two compares
//    into masks and two masked byte ops: four per 64 codes where saturating subtract, min and add
//    took five; the GEMM was decode-bound, 1.11-1.15x), and reuses them for a tile of tokens.
//  - GEMV (decode) extracts nothing: sum_j code_n,j x_j = (3 sum_j t_n,j x_j - sum_j t_n+1,j x_j) / 256,
//    and both sums are plain u8 x s8 dpbusd of the bytes themselves. Two dpbusd and two adds per
//    64 codes instead of one dpbusd and seven byte ops; the int32 total is divided once (exact).
#include "core/intrinsics_x86.h"  // first: <immintrin.h> without GCC 12's false warnings

#include "core/prefetch.h"
#include "quant/kernels.h"
#include "quant/native_rows_avx512.h"

namespace bitlm {
namespace {

inline __m512i digit(__m512i t) {  // [t > 85] + [t > 170]
  const __m512i one = _mm512_set1_epi8(1);
  const __m512i d = _mm512_maskz_mov_epi8(_mm512_cmpgt_epu8_mask(t, _mm512_set1_epi8(85)), one);
  return _mm512_mask_add_epi8(d, _mm512_cmpgt_epu8_mask(t, _mm512_set1_epi8(char(170))), d, one);
}

inline __m512i times3(__m512i t) { return _mm512_add_epi8(_mm512_add_epi8(t, t), t); }  // mod 256

// Block of rows r0 and r1 (r1 == r0 for an odd last row: its high half is then ignored).
inline __m512i load2(const uint8_t* r0, const uint8_t* r1) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0))),
                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1)), 1);
}

using native_avx512::bcast_x;
using native_avx512::reduce;

// GEMV sums: cur = sum t_n x_n, next = sum t_n+1 x_n over the digits; dot(code, x) = (3 cur - next) / 256.
// Even and odd digits go to separate accumulators: a dpbusd chain of one accumulator is bound
// by its latency (5 per block), two halve that wait.
struct Sums {
  __m512i cur[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
  __m512i next[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
  int32_t lo() const;
  int32_t hi() const;
};

inline Sums block_sums(Sums s, __m512i t, const int8_t* x) {
  for (int n = 0; n < 5; ++n) {
    const __m512i xn = bcast_x(x + 32 * n);
    s.cur[n & 1] = _mm512_dpbusd_epi32(s.cur[n & 1], t, xn);
    t = times3(t);
    s.next[n & 1] = _mm512_dpbusd_epi32(s.next[n & 1], t, xn);
  }
  return s;
}

inline int32_t sum_lo(__m512i a) { return reduce(_mm512_castsi512_si256(a)); }
inline int32_t sum_hi(__m512i a) { return reduce(_mm512_extracti64x4_epi64(a, 1)); }
// Per lane, 3 cur - next is 256 times that lane's code dot exactly (every byte's term is), so the
// shift is exact there, before the lanes are summed: the int32 range is then that of the result.
inline __m512i code_dot(const Sums& s) {
  const __m512i cur = _mm512_add_epi32(s.cur[0], s.cur[1]), next = _mm512_add_epi32(s.next[0], s.next[1]);
  return _mm512_srai_epi32(_mm512_sub_epi32(_mm512_add_epi32(_mm512_add_epi32(cur, cur), cur), next), 8);
}
inline int32_t Sums::lo() const { return sum_lo(code_dot(*this)); }
inline int32_t Sums::hi() const { return sum_hi(code_dot(*this)); }

struct GemmLayout {
  static constexpr int64_t kWeightsPerBlock = 160;
  static constexpr int kPairs = 2, kTokens = 8;  // tile: row pairs x tokens
  static constexpr int kCodes = 5;
  static void decode(const uint8_t* r0, const uint8_t* r1, __m512i* codes) {
    __m512i t = load2(r0, r1);
    codes[0] = digit(t);
    for (int n = 1; n < 5; ++n) {
      t = times3(t);
      codes[n] = digit(t);
    }
  }
};

}  // namespace

void gemv_t1_avx512(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum, int32_t* y,
                    int64_t n_rows) {
  int64_t r = 0;
  for (; r + 4 <= n_rows; r += 4) {  // four rows share every broadcast of x
    const uint8_t* p = w + r * row_bytes;
    Sums a01, a23;
    for (int64_t b = 0; b < row_bytes; b += 32) {
      prefetch_ahead(p + 4 * b);  // the four rows are contiguous: 128 bytes (two lines) per block
      prefetch_ahead(p + 4 * b + 64);
      a01 = block_sums(a01, load2(p + b, p + row_bytes + b), x + 5 * b);
      a23 = block_sums(a23, load2(p + 2 * row_bytes + b, p + 3 * row_bytes + b), x + 5 * b);
    }
    y[r] = a01.lo() - x_sum;
    y[r + 1] = a01.hi() - x_sum;
    y[r + 2] = a23.lo() - x_sum;
    y[r + 3] = a23.hi() - x_sum;
  }
  for (; r < n_rows; r += 2) {
    const uint8_t* p0 = w + r * row_bytes;
    const uint8_t* p1 = r + 1 < n_rows ? p0 + row_bytes : p0;
    Sums acc;
    for (int64_t b = 0; b < row_bytes; b += 32) acc = block_sums(acc, load2(p0 + b, p1 + b), x + 5 * b);
    y[r] = acc.lo() - x_sum;
    if (r + 1 < n_rows) y[r + 1] = acc.hi() - x_sum;
  }
}

void gemm_t1_avx512(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                    const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  if (T >= 2 * GemmLayout::kTokens)  // the decode is then shared by two or more token tiles
    return native_avx512::gemm_rows_decoded_once<GemmLayout>(w, row_bytes, x, x_stride, x_sum, T, y, y_stride, n_rows);
  native_avx512::gemm_rows<GemmLayout>(w, row_bytes, x, x_stride, x_sum, T, y, y_stride, n_rows);
}

}  // namespace bitlm
