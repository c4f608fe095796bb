// ops/attention_quant_avx2.cpp — the q8/q4 KV passes with AVX2/FMA (contract and layout in
// ops/attention_quant.h; head_dim % 32 == 0). Scores: a block's int8 q.k with vpmaddubsw on
// (|k|, sign(q, k)) then vpmaddwd (exact int32; |q|, |k| <= 127 cannot saturate the int16 pairs),
// scaled by d_q d_k in float. Mix: a block's 32 codes widen to four vectors of 8 floats, the f16
// scale folds into the softmax weight, and up to 64 output floats (two blocks) stay in registers
// while the positions stream by.
// Scales convert with F16C's vcvtph2ps: no shared inline code is built with -mavx2.
#include <immintrin.h>

#include "ops/attention_quant.h"

namespace bitlm {
namespace {

inline __m256 widen(__m128i bytes8) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes8)); }

// The 32 codes of a block as 4 x 8 floats (q4: nibbles minus 8, in int8 before widening).
inline void codes(const KvBlockQ8& b, __m256 c[4]) {
  const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.q));
  const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.q + 16));
  c[0] = widen(lo), c[1] = widen(_mm_srli_si128(lo, 8));
  c[2] = widen(hi), c[3] = widen(_mm_srli_si128(hi, 8));
}
inline void codes(const KvBlockQ4& b, __m256 c[4]) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.q));
  const __m128i m4 = _mm_set1_epi8(15), eight = _mm_set1_epi8(8);
  const __m128i lo = _mm_sub_epi8(_mm_and_si128(bytes, m4), eight);                     // values 0..15
  const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), m4), eight);  // values 16..31
  c[0] = widen(lo), c[1] = widen(_mm_srli_si128(lo, 8));
  c[2] = widen(hi), c[3] = widen(_mm_srli_si128(hi, 8));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// A block's 32 codes as int8 (q4: nibbles minus 8).
inline __m256i codes_i8(const KvBlockQ8& b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.q)); }
inline __m256i codes_i8(const KvBlockQ4& b) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.q));
  const __m128i m4 = _mm_set1_epi8(15);
  const __m256i n = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), m4), _mm_and_si128(bytes, m4));
  return _mm256_sub_epi8(n, _mm256_set1_epi8(8));
}

template <typename Block>
float dot(const KvBlockQ8* q, const Block* k, int n_blocks) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < n_blocks; ++b) {
    const __m256i kc = codes_i8(k[b]);
    const __m256i qc = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q[b].q));
    const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(kc, kc), _mm256_sign_epi8(qc, kc));
    const __m256 s = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(k[b].d) * _cvtsh_ss(q[b].d)), s, acc);
  }
  return hsum(acc);
}

template <typename Block>
void scores(const KvBlockQ8* q, const Block* k, int64_t stride, int64_t n_pos, int head_dim, float scale,
            float* out) {
  const int nb = head_dim / kKvBlock;
  for (int64_t p = 0; p < n_pos; ++p) out[p] = dot(q, k + p * stride, nb) * scale;
}

// out[0, 32 * NB) = sum_p w[p] * d_p * codes_p over NB consecutive blocks of each row.
template <int NB, typename Block>
void weighted_sum(const float* w, const Block* v, int64_t stride, int64_t n_pos, float* out) {
  __m256 acc[4 * NB];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (int64_t p = 0; p < n_pos; ++p)
    for (int b = 0; b < NB; ++b) {
      const Block& blk = v[p * stride + b];
      const __m256 wd = _mm256_set1_ps(w[p] * _cvtsh_ss(blk.d));
      __m256 c[4];
      codes(blk, c);
      for (int j = 0; j < 4; ++j) acc[4 * b + j] = _mm256_fmadd_ps(wd, c[j], acc[4 * b + j]);
    }
  for (int j = 0; j < 4 * NB; ++j) _mm256_storeu_ps(out + 8 * j, acc[j]);
}

template <typename Block>
void mix(const float* w, const Block* v, int64_t stride, int64_t n_pos, int head_dim, float* out) {
  const int nb = head_dim / kKvBlock;
  int b = 0;
  for (; b + 2 <= nb; b += 2) weighted_sum<2>(w, v + b, stride, n_pos, out + b * kKvBlock);
  if (b < nb) weighted_sum<1>(w, v + b, stride, n_pos, out + b * kKvBlock);
}

}  // namespace

void kv_scores_q8_avx2(const KvBlockQ8* q, const KvBlockQ8* k, int64_t stride, int64_t n_pos, int head_dim,
                       float scale, float* out) {
  scores(q, k, stride, n_pos, head_dim, scale, out);
}
void kv_mix_q8_avx2(const float* w, const KvBlockQ8* v, int64_t stride, int64_t n_pos, int head_dim, float* out) {
  mix(w, v, stride, n_pos, head_dim, out);
}
void kv_scores_q4_avx2(const KvBlockQ8* q, const KvBlockQ4* k, int64_t stride, int64_t n_pos, int head_dim,
                       float scale, float* out) {
  scores(q, k, stride, n_pos, head_dim, scale, out);
}
void kv_mix_q4_avx2(const float* w, const KvBlockQ4* v, int64_t stride, int64_t n_pos, int head_dim, float* out) {
  mix(w, v, stride, n_pos, head_dim, out);
}

}  // namespace bitlm
