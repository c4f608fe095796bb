// quant/dot_dense_avx512.cpp — the int8-activation head dots with AVX-512 VNNI (contracts in
// quant/kernels.h): Q8_0 x Q8_0 (block = f16 d + 32 int8) and Q6_K x Q8_K. vpdpbusd multiplies
// unsigned bytes (|w|, or the 6-bit codes) with int8 x and sums into int32 in one instruction
// (AVX2 needs maddubs + madd); the float dots stay on AVX2, which already streams memory.
#include "core/intrinsics_x86.h"  // <immintrin.h>, without GCC 12's false warnings

#include <cmath>
#include <cstring>

#include "core/prefetch.h"
#include "quant/kernels.h"

namespace bitlm {

float dot_q8_0_q8_avx512(const uint8_t* row, const int8_t* xq, const float* xd, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  const int64_t nb = n / 32;
  auto block = [&](int64_t b, __m256 acc) {
    const uint8_t* r = row + 34 * b;
    prefetch_ahead(r);  // every line of the row, one block at a time (DotQ8Q8 in quant/kernels.h)
    uint16_t h;
    std::memcpy(&h, r, 2);
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + 2));
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b));
    const __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
    return _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(h) * xd[b]), _mm256_cvtepi32_ps(s), acc);
  };
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {  // two chains hide the fma latency
    acc0 = block(b, acc0);
    acc1 = block(b + 1, acc1);
  }
  if (b < nb) acc0 = block(b, acc0);
  __m256 v = _mm256_add_ps(acc0, acc1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

namespace {

inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// The 6-bit codes (0..63) of one 128-half of a Q6_K block (layout in dot_dense_ref.cpp): lo holds
// values 0..63, hi values 64..127. qh sits in both 256-bit halves; per-half 16-bit shifts move its
// 2-bit fields to bits 4-5 (the 0x30 mask drops what the shifts carry in from the other byte).
inline void q6_k_half_codes(const uint8_t* ql, const uint8_t* qh, __m512i& lo, __m512i& hi) {
  const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
  const __m512i shl_lo = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);  // fields 0, 1
  const __m512i shr_hi = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);  // fields 2, 3
  const __m512i l = _mm512_loadu_si512(ql);
  const __m512i h = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh)));
  constexpr int kAOrBAndC = 0xEA;  // vpternlog: (a & b) | c
  lo = _mm512_ternarylogic_epi32(l, m4, _mm512_and_si512(_mm512_sllv_epi16(h, shl_lo), m30), kAOrBAndC);
  hi = _mm512_ternarylogic_epi32(_mm512_srli_epi16(l, 4), m4, _mm512_and_si512(_mm512_srlv_epi16(h, shr_hi), m30),
                                 kAOrBAndC);
}

// int16 lane i of the scale vector for half h: lanes 8k..8k+3 of the packed sums come from the
// low codes (group 8h+k), 8k+4..8k+7 from the high codes (group 8h+4+k).
inline __m512i q6_k_scale_index(int h) {
  alignas(64) int16_t idx[32];
  for (int i = 0; i < 32; ++i) idx[i] = int16_t(8 * h + (i % 8 < 4 ? 0 : 4) + i / 8);
  return _mm512_load_si512(idx);
}

}  // namespace

// Per half-block: vpdpbusd gives 16 int32 sums of 4 code x x products (|.| <= 4*63*128 fits int16),
// vpackssdw interleaves the low- and high-code sums per 128-bit lane without saturating, and
// vpmaddwd scales them by their group's sc and adds pairs (both of one group). The -32 offset is
// sum_g sc[g] * 32 * xsum16[g], one madd per block.
float dot_q6_k_q8_avx512(const uint8_t* row, const int8_t* xq, const float* xd, const int16_t* xsum16, int64_t n) {
  const __m512i scale_index[2] = {q6_k_scale_index(0), q6_k_scale_index(1)};
  float acc = 0;
  for (int64_t b = 0; b < n / 256; ++b, row += 210, xq += 256, xsum16 += 16) {
    prefetch_ahead(row, 210);  // spread over the row's blocks (DotQ6KQ8 in quant/kernels.h)
    const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 192)));
    __m512i isum = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      __m512i lo, hi;
      q6_k_half_codes(row + 64 * h, row + 128 + 32 * h, lo, hi);
      const __m512i s_lo = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_loadu_si512(xq + 128 * h));
      const __m512i s_hi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi, _mm512_loadu_si512(xq + 128 * h + 64));
      const __m512i scale = _mm512_permutexvar_epi16(scale_index[h], _mm512_castsi256_si512(sc));
      isum = _mm512_add_epi32(isum, _mm512_madd_epi16(_mm512_packs_epi32(s_lo, s_hi), scale));
    }
    const __m256i offset =
        _mm256_madd_epi16(sc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xsum16)));
    const __m256i sum8 = _mm256_add_epi32(_mm512_castsi512_si256(isum), _mm512_extracti64x4_epi64(isum, 1));
    const int32_t s = hsum_i32(_mm256_sub_epi32(sum8, _mm256_slli_epi32(offset, 5)));
    uint16_t d;
    std::memcpy(&d, row + 208, 2);
    acc = std::fma(_cvtsh_ss(d) * xd[b], float(s), acc);
  }
  return acc;
}

}  // namespace bitlm
