// ops/matmul_bf16.cpp — the bf16 matmuls of the BitLinear backward (ops/bitlinear.cpp,
// "matmul_precision": "bf16"):
//   dx += dy w_q   and   dw += dy^T x_q   (003 Fig. 11, straight-through estimator)
// multiplied with AVX-512 BF16 (matmul_kernels.h), fp32 accumulation. Only dy is rounded:
// the quantized operands are scaled back to their integer codes first, which bf16 holds exactly
// (ternary/sign codes; int8 codes |q| <= 127 need 7 significant bits, bf16 has 8), and the scale
// moves onto dy before its rounding:
//   w_q = q_w * beta          ->  dx[t][k] += sum_n bf16(dy[t][n] * beta) * q_w[n][k]
//   x_q[t] = q_x[t] * d_t     ->  dw[n][k] += sum_t bf16(dy[t][n] * d_t) * q_x[t][k]
// with beta = max|w_q| and d_t = max|x_q[t]| / 127 (= 1 / s_t of eq. 6-7 to fp32 rounding, and
// q * beta / beta, q / s_t * s_t round back to the codes). In fp mode these are normalizations
// and w, x are rounded too. Packing and kernel are elementwise and fixed-order per output, so
// the result does not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "ops/ops_backward.h"
#include "ops/matmul_kernels.h"

namespace bitlm {
namespace {

constexpr TrainBf16Kernels kRef = {"ref", matmul_acc_bf16_ref};
#if defined(__x86_64__) || defined(_M_X64)
constexpr TrainBf16Kernels kAvx512 = {"avx512", matmul_acc_bf16_avx512,
                                      [](const CpuFeatures& f) { return f.avx512bf16; }};
#endif

const std::vector<const TrainBf16Kernels*>& runnable() {
  static const auto k = runnable_tables<TrainBf16Kernels>({&kRef, BITLM_X86(&kAvx512)});
  return k;
}

float flush_subnormal(float x) { return std::fpclassify(x) == FP_SUBNORMAL ? std::copysign(0.0f, x) : x; }

uint32_t bf16_pair(float lo, float hi) { return uint32_t(to_bf16(lo)) | uint32_t(to_bf16(hi)) << 16; }

// out[i*oi + p*op] = pair(src(2p, i) * scale[2p], src(2p+1, i) * scale[2p+1]) for i in [0, n_i),
// src(j, i) = src[j*sj + i*si], zero past n_j (an odd count pads one zero row). The loop runs
// along whichever of j, i is contiguous in src.
void pack_pairs(const float* src, int64_t sj, int64_t si, int64_t n_j, int64_t n_i,
                const float* scale, uint32_t* out, int64_t oi, int64_t op, ThreadPool& pool) {
  const int64_t P = (n_j + 1) / 2;
  auto one = [&](int64_t p, int64_t i) {
    const int64_t j = 2 * p;
    const float lo = src[j * sj + i * si] * scale[j];
    const float hi = j + 1 < n_j ? src[(j + 1) * sj + i * si] * scale[j + 1] : 0.0f;
    out[i * oi + p * op] = bf16_pair(lo, hi);
  };
  if (sj == 1) {
    pool.parallel_for(0, n_i, 16, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t p = 0; p < P; ++p) one(p, i);
    });
  } else {
    pool.parallel_for(0, P, 4, [&](int64_t q0, int64_t q1) {
      for (int64_t p = q0; p < q1; ++p)
        for (int64_t i = 0; i < n_i; ++i) one(p, i);
    });
  }
}

float max_abs(const float* x, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

}  // namespace

uint16_t to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  if ((u & 0x7F800000u) == 0) return uint16_t(sign);                   // zero, subnormal
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t(sign | 0x7FC0u);  // NaN stays NaN
  return uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);               // nearest, ties to even
}

float from_bf16(uint16_t h) {
  const uint32_t u = uint32_t(h) << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

void matmul_acc_bf16_ref(const uint32_t* a, int64_t lda, const uint32_t* b, int64_t ldb, float* c,
                         int64_t ldc, int64_t r0, int64_t r1, int64_t p0, int64_t p1, int64_t K) {
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t k = 0; k < K; ++k) {
      float s = flush_subnormal(c[r * ldc + k]);
      for (int64_t p = p0; p < p1; ++p) {
        const uint32_t x = a[r * lda + p], y = b[p * ldb + k];
        // The order vdpbf16ps documents: the odd (high) product first.
        s = flush_subnormal(s + from_bf16(uint16_t(x >> 16)) * from_bf16(uint16_t(y >> 16)));
        s = flush_subnormal(s + from_bf16(uint16_t(x)) * from_bf16(uint16_t(y)));
      }
      c[r * ldc + k] = s;
    }
}

// dx += dy w_q: a = bf16(dy * beta) (T x N pairs along n), b = w_q / beta (pairs of rows).
void matmul_backward_input_bf16(Mat<const float> dy, Mat<const float> w_q, Mat<float> dx, ThreadPool& pool) {
  const int64_t T = dy.rows, N = dy.cols, K = w_q.cols, P = (N + 1) / 2;
  const float m = max_abs(w_q.data, w_q.rows * w_q.stride), beta = m > 0 ? m : 1.0f;
  const std::vector<float> up(size_t(N + 1), beta), down(size_t(N + 1), 1.0f / beta);
  thread_local std::vector<uint32_t> a, b;
  a.resize(size_t(T * P));
  b.resize(size_t(P * K));
  pack_pairs(dy.data, 1, dy.stride, N, T, up.data(), a.data(), P, 1, pool);
  pack_pairs(w_q.data, w_q.stride, 1, N, K, down.data(), b.data(), 1, K, pool);
  const TrainBf16Kernels& k = best_train_bf16_kernels();
  const uint32_t *pa = a.data(), *pb = b.data();  // the pool's threads see their own thread_locals
  pool.parallel_for(0, T, 6, [&](int64_t t0, int64_t t1) {
    k.acc(pa, P, pb, K, dx.data, dx.stride, t0, t1, 0, P, K);
  });
}

// dw += dy^T x_q: a = bf16(dy^T * d_t) (N x T pairs along t), b = x_q / d_t (pairs of rows).
void matmul_backward_weight_bf16(Mat<const float> dy, Mat<const float> x_q, Mat<float> dw, ThreadPool& pool) {
  const int64_t T = dy.rows, N = dy.cols, K = x_q.cols, P = (T + 1) / 2;
  std::vector<float> d(static_cast<size_t>(T)), inv(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) {
    const float m = max_abs(x_q.row_ptr(t), K) / 127.0f;
    d[size_t(t)] = m > 0 ? m : 1.0f;
    inv[size_t(t)] = 1.0f / d[size_t(t)];
  }
  thread_local std::vector<uint32_t> a, b;
  a.resize(size_t(N * P));
  b.resize(size_t(P * K));
  pack_pairs(dy.data, dy.stride, 1, T, N, d.data(), a.data(), P, 1, pool);
  pack_pairs(x_q.data, x_q.stride, 1, T, K, inv.data(), b.data(), 1, K, pool);
  const TrainBf16Kernels& k = best_train_bf16_kernels();
  const uint32_t *pa = a.data(), *pb = b.data();
  pool.parallel_for(0, N, 6, [&](int64_t n0, int64_t n1) {
    k.acc(pa, P, pb, K, dw.data, dw.stride, n0, n1, 0, P, K);
  });
}

const TrainBf16Kernels& best_train_bf16_kernels() {
  static const TrainBf16Kernels& k = select_kernels<TrainBf16Kernels>(runnable());
  return k;
}

std::span<const TrainBf16Kernels* const> runnable_train_bf16_kernels() { return runnable(); }

}  // namespace bitlm
