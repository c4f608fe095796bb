// ops/attention_avx2.cpp — one query head over the f16 KV cache with AVX2/FMA/F16C (contract in
// ops/attention.h; head_dim a multiple of 8). K and V rows are converted 8 halves at a time with
// vcvtph2ps; the V pass keeps 64 output floats in registers and streams the visible rows under them.
// Float sums in a different order than the scalar reference: equal to it within rounding. The
// softmax between the two passes stays in attention.cpp (no shared inline code built with -mavx2).
#include <immintrin.h>

#include "ops/attention.h"

namespace bitlm {
namespace {

inline __m256 f16x8(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

float dot_f16(const float* q, const uint16_t* k, int head_dim) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= head_dim; i += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), f16x8(k + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), f16x8(k + i + 8), a1);
  }
  if (i < head_dim) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), f16x8(k + i), a0);
  return hsum(_mm256_add_ps(a0, a1));
}

// out[c0, c0 + 8 * n) = sum_p w[p] * v[p][c0, ...), n <= 8 vectors
template <int N>
void weighted_sum(const float* w, const uint16_t* v, int64_t kv_stride, int64_t n_pos, float* out) {
  __m256 acc[N];
  for (int j = 0; j < N; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t p = 0; p < n_pos; ++p) {
    const __m256 wp = _mm256_set1_ps(w[p]);
    const uint16_t* vr = v + p * kv_stride;
    for (int j = 0; j < N; ++j) acc[j] = _mm256_fmadd_ps(wp, f16x8(vr + 8 * j), acc[j]);
  }
  for (int j = 0; j < N; ++j) _mm256_storeu_ps(out + 8 * j, acc[j]);
}

}  // namespace

void attention_scores_f16_avx2(const float* q, const uint16_t* k, int64_t kv_stride, int64_t n_pos, int head_dim,
                               float scale, float* scores) {
  for (int64_t p = 0; p < n_pos; ++p) scores[p] = dot_f16(q, k + p * kv_stride, head_dim) * scale;
}

void attention_mix_f16_avx2(const float* w, const uint16_t* v, int64_t kv_stride, int64_t n_pos, int head_dim,
                            float* out) {
  int c = 0;
  for (; c + 64 <= head_dim; c += 64) weighted_sum<8>(w, v + c, kv_stride, n_pos, out + c);
  for (; c < head_dim; c += 8) weighted_sum<1>(w, v + c, kv_stride, n_pos, out + c);
}

}  // namespace bitlm
