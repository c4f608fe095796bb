// quant/gemv_t1_avx2.cpp — T1 kernels for AVX2 (1.6-bit layout in quant/packed_layout.h,
// contract in quant/kernels.h). One 32-byte block = 160 weights; digit n pairs with
// x[32n .. 32n+31]. Digits as in gemv_t1_avx512.cpp (times 3 by byte adds, then two thresholds, by
// signed compares of the flipped byte, below). _mm256_maddubs_epi16(codes {0,1,2}, x s8) is at most 512 per int16 lane, five
// digits of two blocks at most 5120, then _mm256_madd_epi16 widens to int32.
#include <immintrin.h>

#include "quant/kernels.h"
#include "quant/native_rows_avx2.h"

namespace bitlm {
namespace {

struct Codes { __m256i c[5]; };

// Digit code_n = [t_n >= 86] + [t_n >= 171] of the flipped byte f_n = t_n ^ 0x80 read as signed
// (so that signed compares order the unsigned t_n): two compares give masks m in {0, -1}, and
// code = (0 - m1) - m2. Four byte ops per 32 codes, where saturating subtract, min (twice) and add
// took five. The flip commutes with the times-3 step: 3 (t + 128) = 3t + 384 = 3t + 128 mod 256,
// so f_{n+1} = 3 f_n mod 256 and only the loaded byte is flipped.
// vpcmpgtb written out: GCC lowers _mm256_cmpgt_epi8 to a generic vector compare and, here, rewrote
// one of the two as vpminsb + vpcmpeqb (llvm-mca, znver3: 20.0 cycles per two blocks, as the old
// digits; with the instruction pinned 18.7).
inline __m256i cmpgt_epi8(__m256i a, __m256i b) {
  __m256i r;
  __asm__("vpcmpgtb %2, %1, %0" : "=x"(r) : "x"(a), "x"(b));
  return r;
}

inline __m256i digit(__m256i f) {
  const __m256i m1 = cmpgt_epi8(f, _mm256_set1_epi8(85 - 128));
  const __m256i m2 = cmpgt_epi8(f, _mm256_set1_epi8(char(170 - 128)));
  return _mm256_sub_epi8(_mm256_sub_epi8(_mm256_setzero_si256(), m1), m2);
}

inline Codes decode(const uint8_t* block) {
  __m256i f = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block)),
                               _mm256_set1_epi8(char(0x80)));
  Codes c;
  c.c[0] = digit(f);
  for (int n = 1; n < 5; ++n) {
    f = _mm256_add_epi8(_mm256_add_epi8(f, f), f);  // times 3 mod 256
    c.c[n] = digit(f);
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
