// ops/matmul_bf16_avx512.cpp — the bf16 acc kernel of ops/matmul_kernels.h with
// AVX-512 BF16 vdpbf16ps: one instruction does 32 multiply-adds (16 lanes x a bf16 pair), twice
// the fp32 FMA's 16. Tiles as the fp32 acc kernel: 6 rows x 64 columns (12 x 32 for narrow c),
// pairs p in order, the column tail masked (masked-off b lanes load as zero pairs).
#include <immintrin.h>

#include <algorithm>

#include "ops/matmul_kernels.h"

namespace bitlm {
namespace {

inline __mmask16 tail_mask(int64_t n) { return __mmask16((1u << n) - 1u); }

template <int R, int NV>
void bf16_tile(const uint32_t* a, int64_t lda, const uint32_t* b, int64_t ldb, float* c,
               int64_t ldc, int64_t p0, int64_t p1, int64_t k, const __mmask16* m) {
  __m512 acc[R][NV];
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_maskz_loadu_ps(m[v], c + r * ldc + k + 16 * v);
  for (int64_t p = p0; p < p1; ++p) {
    const uint32_t* bp = b + p * ldb + k;
    __m512bh bv[NV];
    #pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) bv[v] = (__m512bh)_mm512_maskz_loadu_epi32(m[v], bp + 16 * v);
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(int(a[r * lda + p]));
      #pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(c + r * ldc + k + 16 * v, m[v], acc[r][v]);
}

template <int R, int NV>
void bf16_tail(int64_t n, const uint32_t* a, int64_t lda, const uint32_t* b, int64_t ldb, float* c,
               int64_t ldc, int64_t p0, int64_t p1, int64_t k, const __mmask16* m) {
  if constexpr (R > 1) {
    if (n == R - 1) bf16_tile<R - 1, NV>(a, lda, b, ldb, c, ldc, p0, p1, k, m);
    else bf16_tail<R - 1, NV>(n, a, lda, b, ldb, c, ldc, p0, p1, k, m);
  }
}

// Column strips outer, then blocks of kPBlock pairs of b (32 KiB of a 64-column strip) kept in
// L1 while the row tiles stream past; each c element still sees its pairs in order.
template <int R, int NV>
void bf16_strips(const uint32_t* a, int64_t lda, const uint32_t* b, int64_t ldb, float* c,
                 int64_t ldc, int64_t r0, int64_t r1, int64_t p0, int64_t p1, int64_t K) {
  constexpr int64_t kPBlock = 128 * 4 / NV;
  for (int64_t k = 0; k < K; k += 16 * NV) {
    __mmask16 m[NV];
    for (int v = 0; v < NV; ++v) {
      const int64_t left = K - k - 16 * v;
      m[v] = left >= 16 ? __mmask16(0xFFFF) : left > 0 ? tail_mask(left) : __mmask16(0);
    }
    for (int64_t pb = p0; pb < p1; pb += kPBlock) {
      const int64_t pe = std::min(p1, pb + kPBlock);
      int64_t r = r0;
      for (; r + R <= r1; r += R) bf16_tile<R, NV>(a + r * lda, lda, b, ldb, c + r * ldc, ldc, pb, pe, k, m);
      if (r < r1) bf16_tail<R, NV>(r1 - r, a + r * lda, lda, b, ldb, c + r * ldc, ldc, pb, pe, k, m);
    }
  }
}

}  // namespace

void matmul_acc_bf16_avx512(const uint32_t* a, int64_t lda, const uint32_t* b, int64_t ldb,
                            float* c, int64_t ldc, int64_t r0, int64_t r1, int64_t p0, int64_t p1,
                            int64_t K) {
  if (K <= 32) bf16_strips<12, 2>(a, lda, b, ldb, c, ldc, r0, r1, p0, p1, K);
  else bf16_strips<6, 4>(a, lda, b, ldb, c, ldc, r0, r1, p0, p1, K);
}

}  // namespace bitlm
