// ops/matmul_avx512.cpp — AVX-512 F fp32 block kernels of ops/matmul_kernels.h.
// nt: 4 tokens x 4 weight rows per tile, 16 zmm accumulators (one per output) over 16-float k
// steps, the k tail masked into the same accumulator, then one fixed-order horizontal sum.
// acc: 6 output rows x 64 columns per tile (12 x 32 for narrow c), j in order, column tail masked,
// over blocks of b copied contiguous first (strided rows of b thrashed a few L1 sets).
// The fixed-size loops over a tile's accumulators carry `#pragma GCC unroll`: at -O2 GCC 12 left
// them rolled and kept the accumulators on the stack (23 of ~68 GMAC/s peak per core; 60 unrolled).
#include "core/intrinsics_x86.h"  // <immintrin.h>, without GCC 12's false warnings

#include <algorithm>

#include "ops/matmul_kernels.h"

namespace bitlm {
namespace {

inline __mmask16 tail_mask(int64_t n) { return __mmask16((1u << n) - 1u); }

// Fixed-order horizontal sum (GCC 12's _mm512_reduce_add_ps warns of an uninitialised operand).
inline float hsum(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  const __m128 q = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}

template <int TT, int NN>
void nt_tile(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy,
             int64_t K) {
  __m512 acc[TT][NN];
  for (int i = 0; i < TT; ++i)
    for (int j = 0; j < NN; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    __m512 xv[TT];
    for (int i = 0; i < TT; ++i) xv[i] = _mm512_loadu_ps(x + i * ldx + k);
    for (int j = 0; j < NN; ++j) {
      const __m512 wv = _mm512_loadu_ps(w + j * ldw + k);
      for (int i = 0; i < TT; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  if (k < K) {
    const __mmask16 m = tail_mask(K - k);
    __m512 xv[TT];
    for (int i = 0; i < TT; ++i) xv[i] = _mm512_maskz_loadu_ps(m, x + i * ldx + k);
    for (int j = 0; j < NN; ++j) {
      const __m512 wv = _mm512_maskz_loadu_ps(m, w + j * ldw + k);
      for (int i = 0; i < TT; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  for (int i = 0; i < TT; ++i)
    for (int j = 0; j < NN; ++j) y[i * ldy + j] = hsum(acc[i][j]);
}

template <int TT>
void nt_rows(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy,
             int64_t n0, int64_t n1, int64_t K) {
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) nt_tile<TT, 4>(x, ldx, w + n * ldw, ldw, y + n, ldy, K);
  for (; n < n1; ++n) nt_tile<TT, 1>(x, ldx, w + n * ldw, ldw, y + n, ldy, K);
}

// R rows x NV vectors of columns [k, k + 16 NV) of c, summed over nj rows of a packed b block bp
// (16 NV floats each) and the matching columns of a: R * NV accumulators, NV loads of bp and R
// broadcasts of a per j. Lanes past K are masked. zero_c: start from 0 instead of c (overwrite).
template <int R, int NV>
void acc_tile(const float* a, int64_t a_rs, int64_t a_js, const float* bp, float* c, int64_t ldc,
              int64_t nj, int64_t k, const __mmask16* m, bool zero_c) {
  __m512 acc[R][NV];
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
      acc[r][v] = zero_c ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m[v], c + r * ldc + k + 16 * v);
  for (int64_t j = 0; j < nj; ++j, bp += 16 * NV) {
    __m512 bv[NV];
    #pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(bp + 16 * v);
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * a_rs + j * a_js]);
      #pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(c + r * ldc + k + 16 * v, m[v], acc[r][v]);
}

// The last n < R rows of a strip in one tile of n rows (a 64-row attention block is 5 x 12 + 4).
template <int R, int NV>
void acc_tail(int64_t n, const float* a, int64_t a_rs, int64_t a_js, const float* bp, float* c,
              int64_t ldc, int64_t nj, int64_t k, const __mmask16* m, bool zero_c) {
  if constexpr (R > 1) {
    if (n == R - 1) acc_tile<R - 1, NV>(a, a_rs, a_js, bp, c, ldc, nj, k, m, zero_c);
    else acc_tail<R - 1, NV>(n, a, a_rs, a_js, bp, c, ldc, nj, k, m, zero_c);
  }
}

// Rows [j0, j1) of b's columns [k, k + 16 NV), contiguous, lanes past K zero: a strided block of
// b (rows 1 KiB apart for K = 256) would map onto a few of L1's sets and be evicted while in use.
template <int NV>
void pack_b(const float* b, int64_t ldb, int64_t j0, int64_t j1, int64_t k, const __mmask16* m,
            float* bp) {
  for (int64_t j = j0; j < j1; ++j, bp += 16 * NV)
    #pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) _mm512_store_ps(bp + 16 * v, _mm512_maskz_loadu_ps(m[v], b + j * ldb + k + 16 * v));
}

// Rows [r0, r1) in tiles of R, then one tile of the rest, over rows [j0, j1) of b packed in bp.
template <int R, int NV>
void acc_row_tiles(const float* a, int64_t a_rs, int64_t a_js, const float* bp, float* c, int64_t ldc,
                   int64_t r0, int64_t r1, int64_t j0, int64_t j1, int64_t k, const __mmask16* m,
                   bool zero_c) {
  a += j0 * a_js;
  int64_t r = r0;
  for (; r + R <= r1; r += R)
    acc_tile<R, NV>(a + r * a_rs, a_rs, a_js, bp, c + r * ldc, ldc, j1 - j0, k, m, zero_c);
  if (r < r1) acc_tail<R, NV>(r1 - r, a + r * a_rs, a_rs, a_js, bp, c + r * ldc, ldc, j1 - j0, k, m, zero_c);
}

// Column strips of 16 NV outer, then blocks of kJBlock rows of b: a strip-block of b, packed
// (32 KiB), stays in L1 while every row tile of c streams past it. Each c element still gets
// c = fma(a_rj, b_jk, c) for j in order (tiles and blocks only store and reload it in between),
// so any tile shape or split gives the same bits. (Packing a as well, per tile, cost more than it
// saved: 55 vs 77 GMAC/s for 688 x 256 x 256; dW now hands a over transposed once per chunk.)
template <int R, int NV>
void acc_strips(const float* a, int64_t a_rs, int64_t a_js, const float* b, int64_t ldb, float* c,
                int64_t ldc, int64_t r0, int64_t r1, int64_t j0, int64_t j1, int64_t K,
                bool overwrite) {
  constexpr int64_t kJBlock = 128 * 4 / NV;
  alignas(64) thread_local float block[kJBlock * 16 * NV];
  for (int64_t k = 0; k < K; k += 16 * NV) {
    __mmask16 m[NV];
    for (int v = 0; v < NV; ++v) {
      const int64_t left = K - k - 16 * v;
      m[v] = left >= 16 ? __mmask16(0xFFFF) : left > 0 ? tail_mask(left) : __mmask16(0);
    }
    for (int64_t jb = j0; jb < j1; jb += kJBlock) {
      const int64_t je = std::min(j1, jb + kJBlock);
      pack_b<NV>(b, ldb, jb, je, k, m, block);
      acc_row_tiles<R, NV>(a, a_rs, a_js, block, c, ldc, r0, r1, jb, je, k, m, overwrite && jb == j0);
    }
  }
}

// dst rows [0, 16) = columns of src rows [0, 16). GCC 12 warns that the unpack and shuffle
// intrinsics' own undefined pass-through operand is uninitialised: a false positive.
#if defined(__GNUC__) && !defined(__clang__)  // clang has no -Wmaybe-uninitialized (and no false positive)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
void transpose_16x16(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m512 r[16], u[16];
  #pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * lds);
  // u[2i] lane L: (r[2i][4L], r[2i+1][4L], r[2i][4L+1], r[2i+1][4L+1]); u[2i+1]: 4L+2, 4L+3.
  #pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    u[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    u[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // r[4i+m] lane L: column 4L+m of rows 4i..4i+3.
  #pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    r[4 * i] = _mm512_shuffle_ps(u[4 * i], u[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(u[4 * i], u[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(u[4 * i + 1], u[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(u[4 * i + 1], u[4 * i + 3], 0xEE);
  }
  // Output row 4L+m: lane L of r[m], r[4+m], r[8+m], r[12+m].
  #pragma GCC unroll 4
  for (int m = 0; m < 4; ++m) {
    const __m512 v0 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x88), v1 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xDD);
    const __m512 w0 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x88), w1 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xDD);
    _mm512_storeu_ps(dst + (0 + m) * ldd, _mm512_shuffle_f32x4(v0, w0, 0x88));
    _mm512_storeu_ps(dst + (4 + m) * ldd, _mm512_shuffle_f32x4(v1, w1, 0x88));
    _mm512_storeu_ps(dst + (8 + m) * ldd, _mm512_shuffle_f32x4(v0, w0, 0xDD));
    _mm512_storeu_ps(dst + (12 + m) * ldd, _mm512_shuffle_f32x4(v1, w1, 0xDD));
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace

void matmul_nt_avx512(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y,
                      int64_t ldy, int64_t T, int64_t n0, int64_t n1, int64_t K) {
  int64_t t = 0;
  for (; t + 4 <= T; t += 4) nt_rows<4>(x + t * ldx, ldx, w, ldw, y + t * ldy, ldy, n0, n1, K);
  for (; t < T; ++t) nt_rows<1>(x + t * ldx, ldx, w, ldw, y + t * ldy, ldy, n0, n1, K);
}

// 16 x 16 blocks in registers (pairs of rows interleaved, then 4 x 4 blocks within 128-bit lanes,
// then lanes gathered across vectors); the edges of a block grid past rows or cols go to the ref.
void transpose_avx512(const float* src, int64_t lds, int64_t rows, int64_t cols, float* dst) {
  const int64_t rows16 = rows / 16 * 16, cols16 = cols / 16 * 16;
  for (int64_t t = 0; t < rows16; t += 16)
    for (int64_t c = 0; c < cols16; c += 16) transpose_16x16(src + t * lds + c, lds, dst + c * rows + t, rows);
  if (cols16 < cols) transpose_ref(src + cols16, lds, rows, cols - cols16, dst + cols16 * rows);
  if (rows16 < rows)
    for (int64_t c = 0; c < cols16; ++c)
      for (int64_t t = rows16; t < rows; ++t) dst[c * rows + t] = src[t * lds + c];
}

void matmul_acc_avx512(const float* a, int64_t a_rs, int64_t a_js, const float* b, int64_t ldb,
                       float* c, int64_t ldc, int64_t r0, int64_t r1, int64_t j0, int64_t j1,
                       int64_t K, bool overwrite) {
  // 24 accumulators either way: 6 rows x 64 columns, or 12 x 32 for narrow c (attention's
  // head_dim 32), where 64-wide tiles would compute half masked-off lanes.
  if (K <= 32) acc_strips<12, 2>(a, a_rs, a_js, b, ldb, c, ldc, r0, r1, j0, j1, K, overwrite);
  else acc_strips<6, 4>(a, a_rs, a_js, b, ldb, c, ldc, r0, r1, j0, j1, K, overwrite);
}

}  // namespace bitlm
