// ops/bitlinear.cpp — BitLinear for training (003 Fig. 11), forward and backward, built from the quantizers
// of quant/ (one definition of the math). The caller applies the RMSNorm (SubLN) first.
//   w_q = weight_quant(w): b1.58 q * beta with q = RoundClip(w / beta, -1, 1) (eq. 3-5);
//                          b1 Sign(w - alpha) * beta (eq. 1-2); fp: w.
//   x_q = activation_quant(x) = RoundClip(x * s, -128, 127) / s, s = 127 / max|x_t| (eq. 6-7).
//   y = x_q w_q^T. STE: the quantizers' Jacobians are taken as identity, so
//   dx += dy w_q and dw += dy^T x_q (what torch autograd computes for x + (q(x) - x).detach()).
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "ops/ops_backward.h"
#include "quant/act_rows.h"
#include "quant/quantize.h"

namespace bitlm {
namespace {

// Rows [t0, t1) of x to int8 codes q (row stride q_stride), their scales and code sums through
// quant/'s per-token quantizer on the best ISA (act_rows.h: quantize_absmax_int8's bits, eq. 6-7),
// then x_q = q / s, the dequantized input of Fig. 11.
void quantize_rows(Mat<const float> x, int64_t t0, int64_t t1, int8_t* q, int64_t q_stride,
                   float* scale, int32_t* sum, Mat<float> x_q) {
  best_act_row_kernels().quantize({x.row_ptr(t0), x.stride, t1 - t0, x.cols, q, q_stride, scale, sum});
  for (int64_t t = t0; t < t1; ++t) {
    const int8_t* qt = q + (t - t0) * q_stride;
    const float s = scale[t - t0];
    float* out = x_q.row_ptr(t);
    for (int64_t i = 0; i < x.cols; ++i) out[i] = float(qt[i]) / s;  // Fig. 11: / scale
  }
}

}  // namespace

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
    if (mode == WeightMode::kFp) {
      for (int64_t t = t0; t < t1; ++t) std::copy(x.row_ptr(t), x.row_ptr(t) + x.cols, x_q.row_ptr(t));
      return;
    }
    const size_t n = size_t(t1 - t0);
    std::vector<int8_t> q(n * size_t(x.cols));
    std::vector<float> scale(n);
    std::vector<int32_t> sum(n);
    quantize_rows(x, t0, t1, q.data(), x.cols, scale.data(), sum.data(), x_q);
  });
}

void elastic_quantize_input(Mat<const float> x, float alpha, Mat<float> x_q, QuantizedActivations* xi,
                            ThreadPool& pool) {
  BITLM_ASSERT(x.rows == x_q.rows && x.cols == x_q.cols);
  if (xi) xi->resize(x.rows, x.cols);
  pool.parallel_for(0, x.rows, 16, [&](int64_t t0, int64_t t1) {
    std::vector<int8_t> row(size_t(x.cols));
    for (int64_t t = t0; t < t1; ++t) {
      const std::span<int8_t> q = xi ? std::span<int8_t>(xi->q.data() + t * xi->stride, size_t(x.cols)) : std::span<int8_t>(row);
      int32_t sum = 0;
      const float s = quantize_elastic_int8({x.row_ptr(t), size_t(x.cols)}, alpha, q, &sum);
      if (xi) {
        xi->scale[size_t(t)] = s;
        xi->sum[size_t(t)] = sum;
      }
      float* out = x_q.row_ptr(t);
      for (int64_t i = 0; i < x.cols; ++i) out[i] = float(q[size_t(i)]) / s;
    }
  });
}

float elastic_quantize_backward(Mat<const float> x, float alpha, Mat<float> dx, ThreadPool& pool) {
  BITLM_ASSERT(x.rows == dx.rows && x.cols == dx.cols);
  std::vector<double> row_grad(size_t(x.rows));
  pool.parallel_for(0, x.rows, 16, [&](int64_t t0, int64_t t1) {
    std::vector<int8_t> q(size_t(x.cols));
    for (int64_t t = t0; t < t1; ++t) {
      // round(u) and clip(u) are the forward's codes: the one quantizer recomputes them
      const float s = quantize_elastic_int8({x.row_ptr(t), size_t(x.cols)}, alpha, q);
      const float* xt = x.row_ptr(t);
      float* d = dx.row_ptr(t);
      double g = 0;
      for (int64_t i = 0; i < x.cols; ++i) {
        const float u = xt[i] * s, qi = float(q[size_t(i)]);
        const bool inside = u >= -float(kActElasticQp) && u <= float(kActElasticQp);
        g += double(d[i]) * double(inside ? qi - u : qi);  // LSQ eq. 3: round(u) - u, or the clip bound
        if (!inside) d[i] = 0.0f;                             // STE only inside the clip range
      }
      row_grad[size_t(t)] = g;
    }
  });
  double sum = 0;
  for (double g : row_grad) sum += g;
  return float(sum / std::sqrt(double(x.cols) * kActElasticQp));  // LSQ's gradient scale
}

void bitlinear_quantize_weight_groups(WeightMode mode, Mat<const float> w, Mat<float> w_q, int64_t groups) {
  BITLM_CHECK(groups >= 1 && w.rows % groups == 0, "group quantization: {} rows do not split into {} groups",
              w.rows, groups);
  const int64_t n = w.rows / groups;
  for (int64_t g = 0; g < groups; ++g)  // eq. 14: beta_g (and alpha_g) of W^(g) alone
    bitlinear_quantize_weight(mode, w.rows_range(g * n, n), w_q.rows_range(g * n, n));
}

void bitlinear_quantize_input_groups(WeightMode mode, Mat<const float> x, Mat<float> x_q, int64_t groups,
                                     ThreadPool& pool) {
  BITLM_CHECK(groups >= 1 && x.cols % groups == 0, "group quantization: {} inputs do not split into {} groups",
              x.cols, groups);
  const int64_t n = x.cols / groups;
  for (int64_t g = 0; g < groups; ++g)  // eq. 15: gamma_g of x^(g) alone, per token
    bitlinear_quantize_input(mode, Mat<const float>(x.data + g * n, x.rows, n, x.stride),
                             Mat<float>(x_q.data + g * n, x_q.rows, n, x_q.stride), pool);
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
    quantize_rows(x, t0, t1, xi.q.data() + t0 * xi.stride, xi.stride, xi.scale.data() + t0,
                  xi.sum.data() + t0, x_q);
  });
}

void bitlinear_backward(Mat<const float> dy, Mat<const float> x_q, Mat<const float> w_q,
                        Mat<float> dx, Mat<float> dw, ThreadPool& pool, MatmulPrecision precision,
                        MatmulOut dx_out, MatmulOut dw_out) {
  BITLM_ASSERT(dy.cols == w_q.rows && dx.rows == dy.rows && dx.cols == w_q.cols);
  BITLM_ASSERT(dy.rows == x_q.rows && dw.rows == dy.cols && dw.cols == x_q.cols);
  if (precision == MatmulPrecision::kFp32) {
    matmul_backward_input(dy, w_q, dx, pool, dx_out);
    matmul_backward_weight(dy, x_q, dw, pool, dw_out);
    return;
  }
  BITLM_ASSERT(w_q.stride == w_q.cols);  // beta is the maximum over one flat tensor
  for (auto [m, out] : {std::pair{dx, dx_out}, std::pair{dw, dw_out}})  // the bf16 kernels add
    if (out == MatmulOut::kOverwrite)
      for (int64_t r = 0; r < m.rows; ++r) std::fill(m.row_ptr(r), m.row_ptr(r) + m.cols, 0.0f);
  matmul_backward_input_bf16(dy, w_q, dx, pool);
  matmul_backward_weight_bf16(dy, x_q, dw, pool);
}

}  // namespace bitlm
