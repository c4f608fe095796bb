// quant/act_rows_avx512.cpp — the row quantizers of act_rows.h on AVX-512 (F/BW), 16 floats a step;
// exactly the ref's bits:
//  - gamma = max|y| is order-free; max_ps(|y|, acc) keeps acc when y is NaN, as std::max(gamma, |y|).
//  - round: roundscale to nearest-even = std::nearbyint in the default mode (the baseline x86-64
//    build has no SSE4.1 round, so the ref calls libm per value: most of what this file saves).
//  - clamp as std::clamp (a NaN passes through), then the int32 truncated to its low byte, as the
//    scalar int8_t(float) conversion does.
//  - products in the ref's order, (x * rstd) * g * s, and no add after them to fuse into an FMA.
// The RMSNorm's double sum of squares is rms_rstd_rows' (plain code, shared with no flags).
#include "core/intrinsics_x86.h"  // first: <immintrin.h> without GCC 12's false warnings

#include <algorithm>

#include "quant/act_rows.h"
#include "quant/quantize.h"

namespace bitlm {
namespace {

inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1); }

// y = x * rstd * g over 16 values (masked-off lanes are 0); g == nullptr: y = x.
inline __m512 normed(const float* x, const float* g, __m512 rstd, __mmask16 m) {
  const __m512 v = _mm512_maskz_loadu_ps(m, x);
  return g ? _mm512_mul_ps(_mm512_mul_ps(v, rstd), _mm512_maskz_loadu_ps(m, g)) : v;
}

// One row: eq. 7's gamma, then eq. 6's RoundClip into q; returns the scale, *sum = sum of q.
float quantize_row(const float* x, const float* g, float rstd, int64_t n, int8_t* q, int32_t* sum) {
  const __m512 r = _mm512_set1_ps(rstd), abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  __m512 gamma_v = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __m512 y = normed(x + i, g ? g + i : nullptr, r, tail_mask(n - i));
    gamma_v = _mm512_max_ps(_mm512_and_ps(y, abs_mask), gamma_v);
  }
  const float gamma = _mm512_reduce_max_ps(gamma_v);
  const float s = float(kActQp) / std::max(gamma, kQuantEps);
  const __m512 sv = _mm512_set1_ps(s), lo = _mm512_set1_ps(float(kActQn)), hi = _mm512_set1_ps(float(kActQp));
  __m512i acc = _mm512_setzero_si512();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_roundscale_ps(_mm512_mul_ps(normed(x + i, g ? g + i : nullptr, r, m), sv),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512i qi = _mm512_cvtps_epi32(_mm512_min_ps(hi, _mm512_max_ps(lo, v)));
    const __m128i q8 = _mm512_cvtepi32_epi8(qi);  // low bytes
    _mm_mask_storeu_epi8(q + i, m, q8);
    acc = _mm512_add_epi32(acc, _mm512_cvtepi8_epi32(q8));  // masked-off lanes are 0
  }
  *sum = _mm512_reduce_add_epi32(acc);
  return s;
}

}  // namespace

void act_rows_quantize_avx512(const ActRows& r) { act_rows_quantize_with(r, quantize_row); }

void act_rows_rms_norm_quantize_avx512(const ActRows& r, const float* g, float eps) {
  act_rows_rms_norm_quantize_with(r, g, eps, quantize_row);
}

}  // namespace bitlm
