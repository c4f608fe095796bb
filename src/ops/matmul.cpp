// ops/matmul.cpp — fp32 matmul for training, W stored (N, K) as nn.Linear does.
//   forward  y  = x W^T      (T, N): the nt kernel, threads split weight rows; or, given W^T,
//                             the acc kernel with a = x, b = W^T, threads split columns
//   dX       dx += dy W      (T, K): the acc kernel with a = dy, b = W, threads split token rows
//   dW       dw += dy^T x    (N, K): the acc kernel with a = dy^T (copied transposed), b = x, threads
//                             split weight rows
// Blocks keep a slab of W (forward, dX) or of x (dW) of <= kSlabBytes in L2 while it is reused.
// Each output element is summed in a fixed order whatever the split (matmul_kernels.h), so
// results are independent of the thread count. The ISA is chosen once; BITLM_ISA overrides.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "ops/ops_backward.h"
#include "ops/matmul_kernels.h"

namespace bitlm {
namespace {

constexpr int64_t kSlabBytes = 256 * 1024;

int64_t slab_rows(int64_t K) { return std::max<int64_t>(16, kSlabBytes / (K * int64_t(sizeof(float)))); }

// dW's a = dy^T read in place costs one strided cache line per j (token): at the head's
// V = 4096 the lines lie 16 KiB apart, all in one 12-way L1 set, and every broadcast missed.
// So dW copies kDyChunk columns of a slab of dy at a time transposed (<= 256 KiB, in L2; 96
// repacked b for every chunk too often and slowed the 256- and 688-wide layers): the tiles read
// a's rows contiguous, the same values in the same fma order, the same bits.
constexpr int64_t kDyChunk = 256;

// 8 partial sums: the compiler vectorizes these without -ffast-math (fixed association).
float dot_ref(const float* __restrict a, const float* __restrict b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

constexpr TrainMatmulKernels kRef = {"ref", matmul_nt_ref, matmul_acc_ref, transpose_ref};
#if defined(__x86_64__) || defined(_M_X64)
constexpr TrainMatmulKernels kAvx2 = {"avx2", matmul_nt_avx2, matmul_acc_avx2, transpose_ref};
constexpr TrainMatmulKernels kAvx512 = {"avx512", matmul_nt_avx512, matmul_acc_avx512, transpose_avx512};
#endif

const std::vector<const TrainMatmulKernels*>& runnable() {
  static const auto k = runnable_tables<TrainMatmulKernels>({&kRef, BITLM_X86(&kAvx2, &kAvx512)});
  return k;
}

}  // namespace

void matmul_nt_ref(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy,
                   int64_t T, int64_t n0, int64_t n1, int64_t K) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = n0; n < n1; ++n) y[t * ldy + n] = dot_ref(x + t * ldx, w + n * ldw, K);
}

void matmul_acc_ref(const float* a, int64_t a_rs, int64_t a_js, const float* b, int64_t ldb,
                    float* c, int64_t ldc, int64_t r0, int64_t r1, int64_t j0, int64_t j1,
                    int64_t K, bool overwrite) {
  for (int64_t r = r0; r < r1; ++r) {
    float* __restrict cr = c + r * ldc;
    if (overwrite) std::fill(cr, cr + K, 0.0f);
    for (int64_t j = j0; j < j1; ++j) {
      const float s = a[r * a_rs + j * a_js];
      const float* __restrict bj = b + j * ldb;
      for (int64_t k = 0; k < K; ++k) cr[k] += s * bj[k];
    }
  }
}

// 8 source rows at a time: the strided lines read together stay within one L1 set's ways even
// when the source stride is a multiple of 4 KiB.
void transpose_ref(const float* src, int64_t lds, int64_t rows, int64_t cols, float* dst) {
  for (int64_t t0 = 0; t0 < rows; t0 += 8) {
    const int64_t t1 = std::min(rows, t0 + 8);
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t t = t0; t < t1; ++t) dst[c * rows + t] = src[t * lds + c];
  }
}

const TrainMatmulKernels& best_train_matmul_kernels() {
  static const TrainMatmulKernels& k = select_kernels<TrainMatmulKernels>(runnable());
  return k;
}

std::span<const TrainMatmulKernels* const> runnable_train_matmul_kernels() { return runnable(); }

void matmul_forward(Mat<const float> x, Mat<const float> w, Mat<float> y, ThreadPool& pool) {
  BITLM_ASSERT(x.cols == w.cols && y.rows == x.rows && y.cols == w.rows);
  const TrainMatmulKernels& k = best_train_matmul_kernels();
  const int64_t K = x.cols, slab = slab_rows(K);
  pool.parallel_for(0, w.rows, 16, [&](int64_t n0, int64_t n1) {
    for (int64_t nb = n0; nb < n1; nb += slab)
      k.nt(x.data, x.stride, w.data, w.stride, y.data, y.stride, x.rows, nb, std::min(n1, nb + slab), K);
  });
}

void matmul_forward_transposed(Mat<const float> x, Mat<const float> w_t, Mat<float> y, ThreadPool& pool) {
  BITLM_ASSERT(x.cols == w_t.rows && y.rows == x.rows && y.cols == w_t.cols);
  const TrainMatmulKernels& k = best_train_matmul_kernels();
  pool.parallel_for(0, w_t.cols, 64, [&](int64_t n0, int64_t n1) {
    k.acc(x.data, x.stride, 1, w_t.data + n0, w_t.stride, y.data + n0, y.stride, 0, x.rows, 0, x.cols,
          n1 - n0, true);
  });
}

void matmul_backward_input(Mat<const float> dy, Mat<const float> w, Mat<float> dx,
                           ThreadPool& pool, MatmulOut out) {
  BITLM_ASSERT(dy.cols == w.rows && dx.rows == dy.rows && dx.cols == w.cols);
  const TrainMatmulKernels& k = best_train_matmul_kernels();
  const int64_t K = w.cols, slab = slab_rows(K);
  pool.parallel_for(0, dy.rows, 4, [&](int64_t t0, int64_t t1) {
    for (int64_t nb = 0; nb < w.rows; nb += slab)
      k.acc(dy.data, dy.stride, 1, w.data, w.stride, dx.data, dx.stride, t0, t1, nb,
            std::min(w.rows, nb + slab), K, out == MatmulOut::kOverwrite && nb == 0);
  });
}

void matmul_backward_weight(Mat<const float> dy, Mat<const float> x, Mat<float> dw,
                            ThreadPool& pool, MatmulOut out) {
  BITLM_ASSERT(dy.rows == x.rows && dw.rows == dy.cols && dw.cols == x.cols);
  const TrainMatmulKernels& k = best_train_matmul_kernels();
  const int64_t K = x.cols, slab = slab_rows(K);
  pool.parallel_for(0, dw.rows, 4, [&](int64_t n0, int64_t n1) {
    thread_local std::vector<float> dy_t;
    for (int64_t tb = 0; tb < x.rows; tb += slab) {
      const int64_t nt = std::min(x.rows, tb + slab) - tb;
      dy_t.resize(size_t(kDyChunk * nt));
      for (int64_t nc = n0; nc < n1; nc += kDyChunk) {
        const int64_t nn = std::min(n1, nc + kDyChunk) - nc;
        k.transpose(dy.data + tb * dy.stride + nc, dy.stride, nt, nn, dy_t.data());
        k.acc(dy_t.data(), nt, 1, x.data + tb * x.stride, x.stride, dw.data + nc * dw.stride, dw.stride, 0,
              nn, 0, nt, K, out == MatmulOut::kOverwrite && tb == 0);
      }
    }
  });
}

}  // namespace bitlm
