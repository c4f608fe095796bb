// ops/attention_backward.cpp — causal GQA attention over a batch of sequences, training side.
// Per query t of head h: s_j = scale * q.k_j (j <= t), p = softmax(s), out = sum_j p_j v_j.
// Backward: dp_j = dout.v_j, ds_j = p_j (dp_j - sum_i p_i dp_i),
//   dq += scale sum_j ds_j k_j,  dk_j += scale ds_j q,  dv_j += p_j dout.
// Work is split by (sequence, KV head): every dk/dv element then has one writer, and the
// query heads of one group run in a fixed order, so results do not depend on the thread count.
// The group's K and V are transposed once (head_dim x seq_len), so that the dot products over
// keys (scores, dp) run over contiguous j: each sum still adds its head_dim products in order,
// but the compiler vectorizes across keys instead of one scalar reduction per key.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "ops/attention.h"
#include "ops/ops.h"
#include "ops/ops_backward.h"

namespace bitlm {
namespace {

void check_shapes(Mat<const float> q, Mat<const float> k, Mat<const float> v, int n_heads,
                  int n_kv_heads, int head_dim, int64_t seq_len) {
  BITLM_ASSERT(n_kv_heads > 0 && n_heads % n_kv_heads == 0 && seq_len > 0);
  BITLM_ASSERT(q.cols == int64_t(n_heads) * head_dim && k.cols == int64_t(n_kv_heads) * head_dim);
  BITLM_ASSERT(v.cols == k.cols && k.rows == q.rows && v.rows == q.rows && q.rows % seq_len == 0);
}

// out[j] = sum_i a[i] * mt[i][j] for j < n_pos; mt: head_dim rows of row stride ld.
void dots_transposed(const float* a, const float* mt, int64_t ld, int64_t n_pos, int head_dim,
                     float* out) {
  std::fill(out, out + n_pos, 0.0f);
  for (int i = 0; i < head_dim; ++i) {
    const float ai = a[i];
    const float* row = mt + i * ld;
    for (int64_t j = 0; j < n_pos; ++j) out[j] += ai * row[j];
  }
}

// (seq_len, head_dim) rows of stride `stride` -> (head_dim, seq_len).
void transpose(const float* m, int64_t stride, int64_t seq_len, int head_dim, float* mt) {
  for (int64_t j = 0; j < seq_len; ++j)
    for (int i = 0; i < head_dim; ++i) mt[i * seq_len + j] = m[j * stride + i];
}

// Scores of query row t against keys 0..t, softmaxed: the forward's probabilities.
void probabilities(const float* q, const float* kt, int64_t seq_len, int64_t n_pos, int head_dim,
                   float scale, float* p) {
  dots_transposed(q, kt, seq_len, n_pos, head_dim, p);
  for (int64_t j = 0; j < n_pos; ++j) p[j] *= scale;
  softmax_forward(Mat<float>(p, 1, n_pos));
}

}  // namespace

void attention_forward_mt(Mat<const float> q, Mat<const float> k, Mat<const float> v,
                          int n_heads, int n_kv_heads, int head_dim, int64_t seq_len,
                          Mat<float> out, ThreadPool& pool) {
  check_shapes(q, k, v, n_heads, n_kv_heads, head_dim, seq_len);
  BITLM_ASSERT(out.rows == q.rows && out.cols == q.cols);
  const int64_t n_seq = q.rows / seq_len;
  const int group = n_heads / n_kv_heads;
  pool.parallel_for(0, n_seq * n_heads, 1, [&](int64_t u0, int64_t u1) {
    std::vector<float> scores(static_cast<size_t>(seq_len));
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t s = u / n_heads, h = u % n_heads, r0 = s * seq_len;
      const int64_t q_off = h * head_dim, kv_off = (h / group) * head_dim;
      for (int64_t t = 0; t < seq_len; ++t)
        attention_head_forward(q.row_ptr(r0 + t) + q_off, k.row_ptr(r0) + kv_off,
                               v.row_ptr(r0) + kv_off, k.stride, t + 1, head_dim, scores.data(),
                               out.row_ptr(r0 + t) + q_off);
    }
  });
}

void attention_backward(Mat<const float> dout, Mat<const float> q, Mat<const float> k,
                        Mat<const float> v, int n_heads, int n_kv_heads, int head_dim,
                        int64_t seq_len, Mat<float> dq, Mat<float> dk, Mat<float> dv,
                        ThreadPool& pool) {
  check_shapes(q, k, v, n_heads, n_kv_heads, head_dim, seq_len);
  BITLM_ASSERT(k.stride == v.stride && dk.stride == dv.stride);
  const int64_t n_seq = q.rows / seq_len;
  const int group = n_heads / n_kv_heads;
  const float scale = 1.0f / std::sqrt(float(head_dim));
  pool.parallel_for(0, n_seq * n_kv_heads, 1, [&](int64_t u0, int64_t u1) {
    std::vector<float> p(static_cast<size_t>(seq_len)), ds(static_cast<size_t>(seq_len));
    std::vector<float> kt(size_t(seq_len * head_dim)), vt(kt.size());
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t s = u / n_kv_heads, kvh = u % n_kv_heads, r0 = s * seq_len;
      const int64_t kv_off = kvh * head_dim;
      const float* K = k.row_ptr(r0) + kv_off;
      const float* V = v.row_ptr(r0) + kv_off;
      float* dK = dk.row_ptr(r0) + kv_off;
      float* dV = dv.row_ptr(r0) + kv_off;
      transpose(K, k.stride, seq_len, head_dim, kt.data());
      transpose(V, v.stride, seq_len, head_dim, vt.data());
      for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
        const int64_t q_off = h * head_dim;
        for (int64_t t = 0; t < seq_len; ++t) {
          const float* qt = q.row_ptr(r0 + t) + q_off;
          const float* dot_ = dout.row_ptr(r0 + t) + q_off;
          float* dqt = dq.row_ptr(r0 + t) + q_off;
          probabilities(qt, kt.data(), seq_len, t + 1, head_dim, scale, p.data());
          dots_transposed(dot_, vt.data(), seq_len, t + 1, head_dim, ds.data());  // dp_j
          double sum_pdp = 0;
          for (int64_t j = 0; j <= t; ++j) sum_pdp += double(p[size_t(j)]) * ds[size_t(j)];
          for (int64_t j = 0; j <= t; ++j) {
            const float dsj = p[size_t(j)] * (ds[size_t(j)] - float(sum_pdp)) * scale;
            const float pj = p[size_t(j)];
            const float* kr = K + j * k.stride;
            float* dkr = dK + j * dk.stride;
            float* dvr = dV + j * dv.stride;
            for (int i = 0; i < head_dim; ++i) {
              dqt[i] += dsj * kr[i];
              dkr[i] += dsj * qt[i];
              dvr[i] += pj * dot_[i];
            }
          }
        }
      }
    }
  });
}

}  // namespace bitlm
