// ops/train_matmul.cpp — fp32 matmul for training, W stored (N, K) as nn.Linear does.
//   forward  y  = x W^T      (T, N): dot products of rows, 4 tokens per weight row read
//   dX       dx += dy W      (T, K): axpy of W rows, split by token rows
//   dW       dw += dy^T x    (N, K): axpy of x rows, split by weight rows
// Each output element is summed in a fixed order by one thread: results are independent of the
// thread count. Blocks keep a slab of W (forward, dX) or of x (dW) in L2 while it is reused.
#include "core/error.h"
#include "ops/ops_backward.h"

namespace bitlm {
namespace {

constexpr int64_t kRowBlock = 32;  // weight rows per block: 32 x 4 KB (K = 1024) fits in L2

// 8 partial sums: the compiler vectorizes these without -ffast-math (fixed association).
inline float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

inline void axpy(float a, const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

void matmul_forward(Mat<const float> x, Mat<const float> w, Mat<float> y, ThreadPool& pool) {
  BITLM_ASSERT(x.cols == w.cols && y.rows == x.rows && y.cols == w.rows);
  const int64_t T = x.rows, K = x.cols;
  pool.parallel_for(0, w.rows, kRowBlock, [&](int64_t n0, int64_t n1) {
    for (int64_t nb = n0; nb < n1; nb += kRowBlock) {
      const int64_t nb_end = std::min(n1, nb + kRowBlock);
      for (int64_t t = 0; t < T; ++t) {
        const float* xr = x.row_ptr(t);
        float* yr = y.row_ptr(t);
        for (int64_t n = nb; n < nb_end; ++n) yr[n] = dot(xr, w.row_ptr(n), K);
      }
    }
  });
}

void matmul_backward_input(Mat<const float> dy, Mat<const float> w, Mat<float> dx,
                           ThreadPool& pool) {
  BITLM_ASSERT(dy.cols == w.rows && dx.rows == dy.rows && dx.cols == w.cols);
  const int64_t K = w.cols;
  pool.parallel_for(0, dy.rows, 4, [&](int64_t t0, int64_t t1) {
    for (int64_t nb = 0; nb < w.rows; nb += kRowBlock) {
      const int64_t nb_end = std::min(w.rows, nb + kRowBlock);
      for (int64_t t = t0; t < t1; ++t) {
        const float* dyr = dy.row_ptr(t);
        float* dxr = dx.row_ptr(t);
        for (int64_t n = nb; n < nb_end; ++n) axpy(dyr[n], w.row_ptr(n), dxr, K);
      }
    }
  });
}

void matmul_backward_weight(Mat<const float> dy, Mat<const float> x, Mat<float> dw,
                            ThreadPool& pool) {
  BITLM_ASSERT(dy.rows == x.rows && dw.rows == dy.cols && dw.cols == x.cols);
  const int64_t K = x.cols;
  constexpr int64_t kTokenBlock = 64;
  pool.parallel_for(0, dw.rows, 8, [&](int64_t n0, int64_t n1) {
    for (int64_t tb = 0; tb < x.rows; tb += kTokenBlock) {
      const int64_t tb_end = std::min(x.rows, tb + kTokenBlock);
      for (int64_t n = n0; n < n1; ++n) {
        float* dwr = dw.row_ptr(n);
        for (int64_t t = tb; t < tb_end; ++t) axpy(dy(t, n), x.row_ptr(t), dwr, K);
      }
    }
  });
}

}  // namespace bitlm
