// quant/dot_dense_avx512.cpp — the Q8_0 x Q8_0 head dot with AVX-512 VNNI (contract in
// quant/gemv_t2.h; Q8_0 block = f16 d + 32 int8). vpdpbusd multiplies |w| (unsigned) with x
// carrying w's sign and sums into int32 in one instruction (AVX2 needs maddubs + madd); the other
// float dots stay on AVX2, which already streams memory.
#include <immintrin.h>

#include <cstring>

#include "quant/gemv_t2.h"

namespace bitlm {

float dot_q8_0_q8_avx512(const uint8_t* row, const int8_t* xq, const float* xd, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  const int64_t nb = n / 32;
  auto block = [&](int64_t b, __m256 acc) {
    const uint8_t* r = row + 34 * b;
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

}  // namespace bitlm
