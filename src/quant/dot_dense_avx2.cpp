// quant/dot_dense_avx2.cpp — AVX2/F16C dots of encoded dense rows with float x (contract in
// quant/kernels.h, layouts in quant/ternary_formats.h): F16 via vcvtph2ps, BF16 by shifting into
// the high half of an f32, Q8_0 by widening the int8 and scaling each 32-block sum by its d, Q6_K
// (ggml: ql[128] low nibbles, qh[64] 2-bit highs, int8 scales[16] per 16 values, f16 d) by
// rebuilding 32 six-bit values per vector and scaling each 16-value half-sum by d * scale.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/prefetch.h"
#include "quant/kernels.h"

namespace bitlm {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256 f16x8(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

inline __m256 bf16x8(const uint8_t* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

inline __m256 i8x8(const uint8_t* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(v)));
}

template <__m256 (*kLoad)(const uint8_t*)>
float dot_16bit(const uint8_t* row, const float* x, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = _mm256_fmadd_ps(kLoad(row + 2 * i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(kLoad(row + 2 * i + 16), _mm256_loadu_ps(x + i + 8), a1);
  }
  float s = hsum(_mm256_add_ps(a0, a1));
  for (; i < n; ++i) {  // tail: one element at a time through the same 8-wide load of a copy
    uint8_t tmp[16] = {};
    std::memcpy(tmp, row + 2 * i, 2);
    s += _mm256_cvtss_f32(kLoad(tmp)) * x[i];
  }
  return s;
}

// Sum of 8 products of int8 q (the low 8 bytes of v) with x.
inline __m256 mul8(__m128i v, const float* x) {
  return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)), _mm256_loadu_ps(x));
}

inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// The 6-bit codes (0..63) of one 128-half of a Q6_K block: vector j holds values 32j .. 32j+31.
inline void q6_k_half_codes(const uint8_t* ql, const uint8_t* qh, __m256i q[4]) {
  const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3);
  const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
  const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
  const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
  auto high = [&](int shift) { return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, shift), m3), 4); };
  q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), high(0));
  q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), high(2));
  q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), high(4));
  q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), high(6));
}

// One Q6_K block decoded for dots with Q8_K activations: the unsigned 6-bit codes (32 per vector,
// values 32 i .. 32 i + 31), each 16-group's int8 scale spread over its 16 int16 lanes, the scales
// widened for the -32 offset, and d.
struct Q6KBlock {
  __m256i q[8], scale[8], sc16;
  float d;
  explicit Q6KBlock(const uint8_t* blk) {
    const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192));
    q6_k_half_codes(blk, blk + 128, q);
    q6_k_half_codes(blk + 64, blk + 160, q + 4);
    for (int i = 0; i < 8; ++i) {
      const int8_t g = int8_t(2 * i);
      const __m128i spread = _mm_set_epi8(g + 1, g + 1, g + 1, g + 1, g + 1, g + 1, g + 1, g + 1, g, g, g, g, g, g, g, g);
      scale[i] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc, spread));
    }
    sc16 = _mm256_cvtepi8_epi16(sc);
    uint16_t h;
    std::memcpy(&h, blk + 208, 2);
    d = _cvtsh_ss(h);
  }
  // The exact int32 sum_g sc[g] * sum_i (q_i - 32) * x_i of 256 xq (xsum16: their 16-sums).
  int32_t dot(const int8_t* xq, const int16_t* xsum16) const {
    __m256i isum = _mm256_setzero_si256();
    for (int i = 0; i < 8; ++i) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * i));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(q[i], x), scale[i]));
    }
    const __m256i xs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xsum16));
    const __m256i offset = _mm256_madd_epi16(sc16, xs);
    return hsum_i32(_mm256_sub_epi32(isum, _mm256_slli_epi32(offset, 5)));
  }
};

}  // namespace

float dot_f16_avx2(const uint8_t* row, const float* x, int64_t n) { return dot_16bit<f16x8>(row, x, n); }
float dot_bf16_avx2(const uint8_t* row, const float* x, int64_t n) { return dot_16bit<bf16x8>(row, x, n); }

float dot_q8_0_avx2(const uint8_t* row, const float* x, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b, row += 34, x += 32) {
    uint16_t h;
    std::memcpy(&h, row, 2);
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(h));
    __m256 s = _mm256_mul_ps(i8x8(row + 2), _mm256_loadu_ps(x));
    s = _mm256_fmadd_ps(i8x8(row + 10), _mm256_loadu_ps(x + 8), s);
    s = _mm256_fmadd_ps(i8x8(row + 18), _mm256_loadu_ps(x + 16), s);
    s = _mm256_fmadd_ps(i8x8(row + 26), _mm256_loadu_ps(x + 24), s);
    acc = _mm256_fmadd_ps(d, s, acc);
  }
  return hsum(acc);
}

// llama.cpp's trick for signed x signed with maddubs: |w| (unsigned) times x carrying w's sign.
// Q8_0 values are within [-127, 127], so the int16 pair sums cannot saturate.
float dot_q8_0_q8_avx2(const uint8_t* row, const int8_t* xq, const float* xd, int64_t n) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b, row += 34, xq += 32) {
    prefetch_ahead(row);  // every line of the row, one block at a time (DotQ8Q8 in quant/kernels.h)
    uint16_t h;
    std::memcpy(&h, row, 2);
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2));
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq));
    const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    const __m256 s = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(h) * xd[b]), s, acc);
  }
  return hsum(acc);
}

// As dot_q8_0_q8_avx2 with the block's nibbles as int8 q - 8 (low nibbles: elements 0-15, high: 16-31).
float dot_q4_0_q8_avx2(const uint8_t* row, const int8_t* xq, const float* xd, int64_t n) {
  const __m256i ones = _mm256_set1_epi16(1), mask = _mm256_set1_epi8(0xF), eight = _mm256_set1_epi8(8);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b, row += 18, xq += 32) {
    prefetch_ahead(row);
    uint16_t h;
    std::memcpy(&h, row, 2);
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2));
    const __m256i qq = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
    const __m256i w = _mm256_sub_epi8(_mm256_and_si256(qq, mask), eight);
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq));
    const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    const __m256 s = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(h) * xd[b]), s, acc);
  }
  return hsum(acc);
}

// Per block: maddubs multiplies the unsigned codes with int8 x into int16 pairs (|.| <= 2*63*128,
// no saturation), madd scales each pair by its group's sc and sums into int32; the -32 offset is
// sum_g sc[g] * 32 * xsum16[g], one madd per block. Vector j of half h spans the groups 8h+2j and
// 8h+2j+1, so its int16 scale vector is sc[8h+2j] x 8, sc[8h+2j+1] x 8.
float dot_q6_k_q8_avx2(const uint8_t* row, const int8_t* xq, const float* xd, const int16_t* xsum16, int64_t n) {
  float acc = 0;
  for (int64_t b = 0; b < n / 256; ++b, row += 210, xq += 256, xsum16 += 16) {
    prefetch_ahead(row, 210);  // spread over the row's blocks (DotQ6KQ8 in quant/kernels.h)
    // Decoded a half-block at a time, used at once: Q6KBlock holds 17 vectors (more than the 16
    // ymm registers), which cost single-stream decode 12% on the 2B-4T head (Zen 3). The int32
    // sums are exact either way, so the rows kernel's floats stay equal to these.
    const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 192));
    __m256i isum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      __m256i q[4];
      q6_k_half_codes(row + 64 * h, row + 128 + 32 * h, q);
      for (int j = 0; j < 4; ++j) {
        const int8_t g = int8_t(8 * h + 2 * j);
        const __m128i spread = _mm_set_epi8(g + 1, g + 1, g + 1, g + 1, g + 1, g + 1, g + 1, g + 1, g, g, g, g, g, g, g, g);
        const __m256i scale = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc, spread));
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 128 * h + 32 * j));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(q[j], x), scale));
      }
    }
    const __m256i xs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xsum16));
    const __m256i offset = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc), xs);
    const int32_t s = hsum_i32(_mm256_sub_epi32(isum, _mm256_slli_epi32(offset, 5)));
    uint16_t d;
    std::memcpy(&d, row + 208, 2);
    acc = std::fma(_cvtsh_ss(d) * xd[b], float(s), acc);
  }
  return acc;
}

// Each block decoded once per chunk of up to 16 activation rows; per row the same int32 block sums
// and the same fma chain as dot_q6_k_q8_avx2, so the floats are equal.
void dot_q6_k_q8_rows_avx2(const uint8_t* row, const int8_t* xq, const float* xd, const int16_t* xsum16, int64_t n,
                           int64_t T, float* y, int64_t y_stride) {
  constexpr int64_t kChunk = 16;
  const int64_t nb = n / 256, ng = n / 16;
  for (int64_t t0 = 0; t0 < T; t0 += kChunk) {
    const int64_t tn = std::min(kChunk, T - t0);
    float acc[kChunk] = {};
    for (int64_t b = 0; b < nb; ++b) {
      if (t0 == 0) prefetch_ahead(row + 210 * b, 210);
      const Q6KBlock blk(row + 210 * b);
      for (int64_t t = 0; t < tn; ++t) {
        const int64_t r = t0 + t;
        acc[t] = std::fma(blk.d * xd[r * nb + b], float(blk.dot(xq + r * n + 256 * b, xsum16 + r * ng + 16 * b)), acc[t]);
      }
    }
    for (int64_t t = 0; t < tn; ++t) y[(t0 + t) * y_stride] = acc[t];
  }
}

float dot_q6_k_avx2(const uint8_t* row, const float* x, int64_t n) {
  const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3), k32 = _mm256_set1_epi8(32);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 256; ++b, row += 210) {
    uint16_t h;
    std::memcpy(&h, row + 208, 2);
    const float d = _cvtsh_ss(h);
    const int8_t* sc = reinterpret_cast<const int8_t*>(row + 192);
    for (int half = 0; half < 2; ++half, x += 128, sc += 8) {
      const uint8_t* ql = row + 64 * half;
      const uint8_t* qh = row + 128 + 32 * half;
      const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
      // values l, l+32, l+64, l+96 of this half (ggml dequantize_row_q6_K), each minus 32
      const __m256i q[4] = {
          _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(hb, m3), 4)), k32),
          _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(l1, m4),
                                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m3), 4)), k32),
          _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m3), 4)), k32),
          _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), m3), 4)), k32)};
      for (int j = 0; j < 4; ++j) {
        const __m128i lo = _mm256_castsi256_si128(q[j]), hi = _mm256_extracti128_si256(q[j], 1);
        const float* xj = x + 32 * j;
        const __m256 s_lo = _mm256_add_ps(mul8(lo, xj), mul8(_mm_srli_si128(lo, 8), xj + 8));
        const __m256 s_hi = _mm256_add_ps(mul8(hi, xj + 16), mul8(_mm_srli_si128(hi, 8), xj + 24));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d * float(sc[2 * j])), s_lo, acc);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d * float(sc[2 * j + 1])), s_hi, acc);
      }
    }
  }
  return hsum(acc);
}

}  // namespace bitlm
