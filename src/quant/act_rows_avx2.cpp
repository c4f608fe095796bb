// quant/act_rows_avx2.cpp — the row quantizers of act_rows.h on AVX2, 8 floats a step; exactly the
// ref's bits, as act_rows_avx512.cpp argues:
//  - gamma = max|y| is order-free; max_ps(|y|, acc) keeps acc when y is NaN, as std::max(gamma, |y|).
//  - clamp as std::clamp (max_ps(lo, v) passes a NaN v on, then min_ps(hi, ·) too), then round to
//    nearest-even (vroundps, std::nearbyint in the default mode), the int32's low byte as the
//    scalar int8_t(float) conversion keeps it (a NaN's 0x80000000 gives 0).
//  - products in the ref's order, (x * rstd) * g * s, with no add after them to fuse into an FMA.
// The tail of a row (n % 8 values) is loaded masked; its lanes are 0 and are not stored.
#include <immintrin.h>

#include <algorithm>

#include "quant/act_rows.h"
#include "quant/quantize.h"

namespace bitlm {
namespace {

inline __m256i tail_mask(int64_t left) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(left < 8 ? left : 8)), lane);
}

// y = x * rstd * g over 8 values (masked-off lanes are 0); g == nullptr: y = x.
inline __m256 normed(const float* x, const float* g, __m256 rstd, __m256i m, bool full) {
  const __m256 v = full ? _mm256_loadu_ps(x) : _mm256_maskload_ps(x, m);
  if (!g) return v;
  return _mm256_mul_ps(_mm256_mul_ps(v, rstd), full ? _mm256_loadu_ps(g) : _mm256_maskload_ps(g, m));
}

inline float reduce_max(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int32_t reduce_add(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// One row: eq. 7's gamma, then eq. 6's RoundClip into q; returns the scale, *sum = sum of q.
float quantize_row(const float* x, const float* g, float rstd, int64_t n, int8_t* q, int32_t* sum) {
  const __m256 r = _mm256_set1_ps(rstd), abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 gamma_v = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 y = normed(x + i, g ? g + i : nullptr, r, tail_mask(n - i), n - i >= 8);
    gamma_v = _mm256_max_ps(_mm256_and_ps(y, abs_mask), gamma_v);
  }
  // the lanes hold no NaN (max_ps(|y|, acc) never keeps one), so any reduction order is the ref's
  const float gamma = reduce_max(gamma_v);
  const float s = float(kActQp) / std::max(gamma, kQuantEps);
  const __m256 sv = _mm256_set1_ps(s), lo = _mm256_set1_ps(float(kActQn)), hi = _mm256_set1_ps(float(kActQp));
  // low byte of each int32, per 128-bit lane: bytes 0, 4, 8, 12
  const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  __m256i acc = _mm256_setzero_si256();
  for (int64_t i = 0; i < n; i += 8) {
    const bool full = n - i >= 8;
    const __m256 v = _mm256_mul_ps(normed(x + i, g ? g + i : nullptr, r, tail_mask(n - i), full), sv);
    const __m256 c = _mm256_round_ps(_mm256_min_ps(hi, _mm256_max_ps(lo, v)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i qi = _mm256_cvtps_epi32(c);
    const __m256i b = _mm256_shuffle_epi8(qi, pick);
    const uint64_t eight = uint64_t(uint32_t(_mm256_cvtsi256_si32(b))) |
                           uint64_t(uint32_t(_mm_cvtsi128_si32(_mm256_extracti128_si256(b, 1)))) << 32;
    if (full) {
      __builtin_memcpy(q + i, &eight, 8);
    } else {
      for (int64_t j = 0; j < n - i; ++j) q[i + j] = int8_t(eight >> (8 * j));
    }
    // the bytes as int32 again (a NaN's 0x80000000 adds its low byte, 0, as the ref's sum does)
    acc = _mm256_add_epi32(acc, _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(int64_t(eight))));
  }
  *sum = reduce_add(acc);
  return s;
}

}  // namespace

void act_rows_quantize_avx2(const ActRows& r) { act_rows_quantize_with(r, quantize_row); }

void act_rows_rms_norm_quantize_avx2(const ActRows& r, const float* g, float eps) {
  act_rows_rms_norm_quantize_with(r, g, eps, quantize_row);
}

}  // namespace bitlm
