// ops/matmul_avx2.cpp — AVX2+FMA fp32 block kernels of ops/matmul_kernels.h.
// 16 ymm registers: nt tiles are 4 tokens x 2 weight rows (8 accumulators, one per output, over
// 8-float k steps, the k tail masked into the same accumulator, then a fixed-order horizontal sum);
// acc tiles are 4 output rows x 16 columns (8 accumulators), j in order, column tail masked.
#include <immintrin.h>

#include "ops/matmul_kernels.h"

namespace bitlm {
namespace {

inline __m256i tail_mask(int64_t n) {  // lanes [0, n) set; n <= 0 -> none, n >= 8 -> all
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(n < 0 ? 0 : n > 8 ? 8 : n)), lane);
}

inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 h = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

template <int TT, int NN>
void nt_tile(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy,
             int64_t K) {
  __m256 acc[TT][NN];
  for (int i = 0; i < TT; ++i)
    for (int j = 0; j < NN; ++j) acc[i][j] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256 xv[TT];
    for (int i = 0; i < TT; ++i) xv[i] = _mm256_loadu_ps(x + i * ldx + k);
    for (int j = 0; j < NN; ++j) {
      const __m256 wv = _mm256_loadu_ps(w + j * ldw + k);
      for (int i = 0; i < TT; ++i) acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  if (k < K) {
    const __m256i m = tail_mask(K - k);
    __m256 xv[TT];
    for (int i = 0; i < TT; ++i) xv[i] = _mm256_maskload_ps(x + i * ldx + k, m);
    for (int j = 0; j < NN; ++j) {
      const __m256 wv = _mm256_maskload_ps(w + j * ldw + k, m);
      for (int i = 0; i < TT; ++i) acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  for (int i = 0; i < TT; ++i)
    for (int j = 0; j < NN; ++j) y[i * ldy + j] = hsum(acc[i][j]);
}

template <int TT>
void nt_rows(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy,
             int64_t n0, int64_t n1, int64_t K) {
  int64_t n = n0;
  for (; n + 2 <= n1; n += 2) nt_tile<TT, 2>(x, ldx, w + n * ldw, ldw, y + n, ldy, K);
  for (; n < n1; ++n) nt_tile<TT, 1>(x, ldx, w + n * ldw, ldw, y + n, ldy, K);
}

template <int R>
void acc_tile(const float* a, int64_t a_rs, int64_t a_js, const float* b, int64_t ldb, float* c,
              int64_t ldc, int64_t j0, int64_t j1, int64_t k, __m256i m0, __m256i m1, bool overwrite) {
  const __m256i m[2] = {m0, m1};
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < 2; ++v)
      acc[r][v] = overwrite ? _mm256_setzero_ps() : _mm256_maskload_ps(c + r * ldc + k + 8 * v, m[v]);
  for (int64_t j = j0; j < j1; ++j) {
    const float* bj = b + j * ldb + k;
    __m256 bv[2];
    for (int v = 0; v < 2; ++v) bv[v] = _mm256_maskload_ps(bj + 8 * v, m[v]);
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_set1_ps(a[r * a_rs + j * a_js]);
      for (int v = 0; v < 2; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < 2; ++v) _mm256_maskstore_ps(c + r * ldc + k + 8 * v, m[v], acc[r][v]);
}

template <int R>
void acc_rows(const float* a, int64_t a_rs, int64_t a_js, const float* b, int64_t ldb, float* c,
              int64_t ldc, int64_t j0, int64_t j1, int64_t K, bool overwrite) {
  for (int64_t k = 0; k < K; k += 16)
    acc_tile<R>(a, a_rs, a_js, b, ldb, c, ldc, j0, j1, k, tail_mask(K - k), tail_mask(K - k - 8), overwrite);
}

}  // namespace

void matmul_nt_avx2(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy,
                    int64_t T, int64_t n0, int64_t n1, int64_t K) {
  int64_t t = 0;
  for (; t + 4 <= T; t += 4) nt_rows<4>(x + t * ldx, ldx, w, ldw, y + t * ldy, ldy, n0, n1, K);
  for (; t < T; ++t) nt_rows<1>(x + t * ldx, ldx, w, ldw, y + t * ldy, ldy, n0, n1, K);
}

void matmul_acc_avx2(const float* a, int64_t a_rs, int64_t a_js, const float* b, int64_t ldb,
                     float* c, int64_t ldc, int64_t r0, int64_t r1, int64_t j0, int64_t j1,
                     int64_t K, bool overwrite) {
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) acc_rows<4>(a + r * a_rs, a_rs, a_js, b, ldb, c + r * ldc, ldc, j0, j1, K, overwrite);
  for (; r < r1; ++r) acc_rows<1>(a + r * a_rs, a_rs, a_js, b, ldb, c + r * ldc, ldc, j0, j1, K, overwrite);
}

}  // namespace bitlm
