// ops/glu_rows_avx2.cpp — relu(g)^2 * u, 8 floats a step, bit for bit the scalar
// `(g > 0 ? g * g : 0) * u` (as glu_rows_avx512.cpp: max_ps(g, 0) returns 0 for a NaN g, and
// r * r is g * g for g > 0 and 0 otherwise; then one multiply by u). The n % 8 tail is scalar.
#include <immintrin.h>

#include "ops/glu_rows.h"

namespace bitlm {

void relu2_glu_row_avx2(const float* gate, const float* up, float* out, int64_t n) {
  const __m256 zero = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 r = _mm256_max_ps(_mm256_loadu_ps(gate + i), zero);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(r, r), _mm256_loadu_ps(up + i)));
  }
  if (i < n) relu2_glu_row_ref(gate + i, up + i, out + i, n - i);
}

}  // namespace bitlm
