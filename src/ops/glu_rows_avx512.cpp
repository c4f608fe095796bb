// ops/glu_rows_avx512.cpp — relu(g)^2 * u, 16 floats a step, bit for bit the scalar
// `(g > 0 ? g * g : 0) * u`: max_ps(g, 0) returns its second operand, 0, for a NaN g (the scalar
// compare is false there), and r * r is g * g for g > 0 and 0 otherwise; then one multiply by u.
#include "core/intrinsics_x86.h"  // first: <immintrin.h> without GCC 12's false warnings

#include "ops/glu_rows.h"

namespace bitlm {

void relu2_glu_row_avx512(const float* gate, const float* up, float* out, int64_t n) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    const __m512 r = _mm512_max_ps(_mm512_maskz_loadu_ps(m, gate + i), zero);
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_mul_ps(r, r), _mm512_maskz_loadu_ps(m, up + i)));
  }
}

}  // namespace bitlm
