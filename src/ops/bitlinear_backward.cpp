// ops/bitlinear_backward.cpp — BitLinear for training (003 Fig. 11), built from the quantizers
// of quant/ (one definition of the math). The caller applies the RMSNorm (SubLN) first.
//   w_q = weight_quant(w): b1.58 q * beta with q = RoundClip(w / beta, -1, 1) (eq. 3-5);
//                          b1 Sign(w - alpha) * beta (eq. 1-2); fp: w.
//   x_q = activation_quant(x) = RoundClip(x * s, -128, 127) / s, s = 127 / max|x_t| (eq. 6-7).
//   y = x_q w_q^T. STE: the quantizers' Jacobians are taken as identity, so
//   dx += dy w_q and dw += dy^T x_q (what torch autograd computes for x + (q(x) - x).detach()).
#include <vector>

#include "core/error.h"
#include "ops/ops_backward.h"
#include "quant/quantize.h"

namespace bitlm {

float bitlinear_quantize_weight(WeightMode mode, Mat<const float> w, Mat<float> w_q) {
  BITLM_ASSERT(w.rows == w_q.rows && w.cols == w_q.cols);
  BITLM_ASSERT(w.stride == w.cols && w_q.stride == w_q.cols);  // quantizers see one flat tensor
  const size_t n = size_t(w.rows * w.cols);
  if (mode == WeightMode::kFp) {
    std::copy(w.data, w.data + n, w_q.data);
    return 1.0f;
  }
  std::vector<int8_t> q(n);
  const float beta = mode == WeightMode::kTernary
                         ? quantize_absmean({w.data, n}, q)
                         : quantize_sign({w.data, n}, q).beta;
  for (size_t i = 0; i < n; ++i) w_q.data[i] = float(q[i]) * beta;
  return beta;
}

void bitlinear_quantize_input(WeightMode mode, Mat<const float> x, Mat<float> x_q,
                              ThreadPool& pool) {
  BITLM_ASSERT(x.rows == x_q.rows && x.cols == x_q.cols);
  pool.parallel_for(0, x.rows, 16, [&](int64_t t0, int64_t t1) {
    std::vector<int8_t> q(size_t(x.cols));
    for (int64_t t = t0; t < t1; ++t) {
      const float* xr = x.row_ptr(t);
      float* out = x_q.row_ptr(t);
      if (mode == WeightMode::kFp) {
        std::copy(xr, xr + x.cols, out);
        continue;
      }
      const float s = quantize_absmax_int8(x.row(t), q);
      for (int64_t i = 0; i < x.cols; ++i) out[i] = float(q[size_t(i)]) / s;  // Fig. 11: / scale
    }
  });
}

TernaryMatrix bitlinear_pack_ternary(Mat<const float> w, Mat<float> w_q) {
  BITLM_ASSERT(w.rows == w_q.rows && w.cols == w_q.cols);
  BITLM_ASSERT(w.stride == w.cols && w_q.stride == w_q.cols);
  const size_t n = size_t(w.rows * w.cols);
  std::vector<int8_t> q(n);
  const float beta = quantize_absmean({w.data, n}, q);
  for (size_t i = 0; i < n; ++i) w_q.data[i] = float(q[i]) * beta;
  const float scales[] = {beta};
  return TernaryMatrix::pack(q, w.rows, w.cols, scales);
}

void bitlinear_quantize_input_int8(Mat<const float> x, Mat<float> x_q, QuantizedActivations& xi,
                                   ThreadPool& pool) {
  BITLM_ASSERT(x.rows == x_q.rows && x.cols == x_q.cols);
  xi.resize(x.rows, x.cols);
  pool.parallel_for(0, x.rows, 16, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      std::span<int8_t> q(xi.q.data() + t * xi.stride, size_t(x.cols));
      const float s = quantize_absmax_int8(x.row(t), q);
      int32_t sum = 0;
      float* out = x_q.row_ptr(t);
      for (int64_t i = 0; i < x.cols; ++i) {
        sum += q[size_t(i)];
        out[i] = float(q[size_t(i)]) / s;  // Fig. 11: / scale
      }
      xi.scale[size_t(t)] = s;
      xi.sum[size_t(t)] = sum;
    }
  });
}

}  // namespace bitlm
