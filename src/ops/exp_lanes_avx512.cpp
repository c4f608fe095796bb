// ops/exp_lanes_avx512.cpp — exp_poly (ops/exp_lanes.cpp) 16 lanes at a time: the same
// formula in the same order, with FMA where the plain twin multiplies and adds; the tail is masked
// into one more vector.
#include "core/intrinsics_x86.h"  // <immintrin.h>, without GCC 12's false warnings

#include "ops/exp_lanes.h"

namespace bitlm {
namespace {

__m512 exp16(__m512 x) {
  const __m512 k_min = _mm512_set1_ps(-87.3f), k_round = _mm512_set1_ps(12582912.0f);
  const __m512 xc = _mm512_max_ps(x, k_min);
  const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f), k_round), k_round);
  const __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f),
                                    _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc));
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  for (float c : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
  p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127)), 23);
  const __mmask16 keep = _mm512_cmp_ps_mask(x, k_min, _CMP_GE_OQ);
  return _mm512_maskz_mul_ps(keep, p, _mm512_castsi512_ps(e));
}

}  // namespace

void exp_inplace_avx512(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, exp16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(x + i, m, exp16(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

}  // namespace bitlm
