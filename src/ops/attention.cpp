// ops/attention.cpp — see attention.h. Scalar reference; the K/V loads are the only difference
// between the f32 and f16 variants, so both instantiate one template of two passes. The f16
// (inference) head runs the passes of the ISA select_kernels picks (attention_avx2.cpp with
// AVX2/FMA/F16C; BITLM_ISA=ref forces the reference).
// Training (attention_forward_mt, attention_backward): causal GQA over a batch of sequences.
// The forward runs the same causal tiles as the backward: S = Q K^T, softmax, out = P V.
// Per query t of head h: s_j = scale * q.k_j (j <= t), p = softmax(s), out = sum_j p_j v_j.
// Backward: dp_j = dout.v_j, ds_j = p_j (dp_j - sum_i p_i dp_i),
//   dq += scale sum_j ds_j k_j,  dk_j += scale ds_j q,  dv_j += p_j dout.
// Work is split by (sequence, KV head): every dk/dv element then has one writer, and the
// query heads of one group run in a fixed order, so results do not depend on the thread count.
// Per (sequence, head) it runs as five block matmuls on the fp32 training kernels
// (matmul_kernels.h): S = Q K^T, dP = dO V^T (outer products with K^T, V^T) over whole
// (seq_len, seq_len) tiles, then
// dQ += dS K, dK += dS^T Q, dV += P^T dO, with the causal mask as zeros in P and dS; tiles wholly
// above the diagonal are skipped. Vectorized, where per-key scalar dot products were not.
#include "ops/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/fp16.h"
#include "ops/attention_quant.h"
#include "ops/ops.h"
#include "ops/ops_backward.h"
#include "ops/peer_numerics.h"
#include "ops/matmul_kernels.h"
#include "ops/exp_lanes.h"

namespace bitlm {
namespace {

inline float load(float v) { return v; }
inline float load(uint16_t h) { return fp16_to_f32(h); }

template <typename KV>
void scores_pass(const float* q, const KV* k, int64_t kv_stride, int64_t n_pos, int head_dim, float scale,
                 float* scores) {
  for (int64_t p = 0; p < n_pos; ++p) {
    const KV* kr = k + p * kv_stride;
    float dot = 0;
    for (int i = 0; i < head_dim; ++i) dot += q[i] * load(kr[i]);
    scores[p] = dot * scale;
  }
}

template <typename KV>
void mix_pass(const float* w, const KV* v, int64_t kv_stride, int64_t n_pos, int head_dim, float* out) {
  for (int i = 0; i < head_dim; ++i) out[i] = 0;
  for (int64_t p = 0; p < n_pos; ++p) {
    const KV* vr = v + p * kv_stride;
    const float wp = w[p];
    for (int i = 0; i < head_dim; ++i) out[i] += wp * load(vr[i]);
  }
}

// softmax(q.K^T / sqrt(Dh)) V over positions [0, n_pos) (003 Fig. 12 keeps attention in full precision).
template <typename KV, typename Scores, typename Mix>
void head_forward(const float* q, const KV* k, const KV* v, int64_t kv_stride, int64_t n_pos, int head_dim,
                  float* scores, float* out, Scores scores_fn, Mix mix_fn) {
  scores_fn(q, k, kv_stride, n_pos, head_dim, 1.0f / std::sqrt(float(head_dim)), scores);
  softmax_forward(Mat<float>(scores, 1, n_pos));
  mix_fn(scores, v, kv_stride, n_pos, head_dim, out);
}

void head_forward_f32(const float* q, const float* k, const float* v, int64_t kv_stride, int64_t n_pos,
                      int head_dim, float* scores, float* out) {
  head_forward(q, k, v, kv_stride, n_pos, head_dim, scores, out, scores_pass<float>, mix_pass<float>);
}

constexpr F16AttentionKernels kRef = {"ref", attention_scores_f16_ref, attention_mix_f16_ref};
#if defined(__x86_64__) || defined(_M_X64)
constexpr F16AttentionKernels kAvx2 = {"avx2", attention_scores_f16_avx2, attention_mix_f16_avx2,
                                       [](const CpuFeatures& f) { return f.f16c; }};
#endif

const std::vector<const F16AttentionKernels*>& runnable() {
  static const auto k = runnable_tables<F16AttentionKernels>({&kRef, BITLM_X86(&kAvx2)});
  return k;
}

}  // namespace

void attention_scores_f16_ref(const float* q, const uint16_t* k, int64_t kv_stride, int64_t n_pos, int head_dim,
                              float scale, float* scores) {
  scores_pass(q, k, kv_stride, n_pos, head_dim, scale, scores);
}

void attention_mix_f16_ref(const float* w, const uint16_t* v, int64_t kv_stride, int64_t n_pos, int head_dim,
                           float* out) {
  mix_pass(w, v, kv_stride, n_pos, head_dim, out);
}

std::span<const F16AttentionKernels* const> runnable_f16_attention_kernels() { return runnable(); }

void attention_head_forward(const float* q, const float* k, const float* v, int64_t kv_stride,
                            int64_t n_pos, int head_dim, float* scores, float* out) {
  head_forward_f32(q, k, v, kv_stride, n_pos, head_dim, scores, out);
}

void attention_head_forward_f16(const float* q, const uint16_t* k, const uint16_t* v,
                                int64_t kv_stride, int64_t n_pos, int head_dim, float* scores,
                                float* out) {
  static const F16AttentionKernels& best = select_kernels<F16AttentionKernels>(runnable());
  const F16AttentionKernels& kern = head_dim % 8 == 0 ? best : kRef;
  head_forward(q, k, v, kv_stride, n_pos, head_dim, scores, out, kern.scores, kern.mix);
}

void attention_head(const KvHeadView& kv, const float* q, int64_t n_pos, int head_dim, const PeerNumerics& num,
                    float* scores, float* out) {
  switch (kv.type) {
    case KvCacheType::kQ8:
      return attention_head_forward_q8(q, static_cast<const KvBlockQ8*>(kv.k), static_cast<const KvBlockQ8*>(kv.v),
                                       kv.stride, n_pos, head_dim, scores, out);
    case KvCacheType::kQ4:
      return attention_head_forward_q4(q, static_cast<const KvBlockQ4*>(kv.k), static_cast<const KvBlockQ4*>(kv.v),
                                       kv.stride, n_pos, head_dim, scores, out);
    case KvCacheType::kF16: break;
  }
  const auto* k = static_cast<const uint16_t*>(kv.k);
  const auto* v = static_cast<const uint16_t*>(kv.v);
  if (num.flash_f16) attention_head_flash_f16(q, k, v, kv.stride, n_pos, head_dim, scores, out);
  else if (num.probs_f16) attention_head_peer(q, k, v, kv.stride, n_pos, head_dim, true, scores, out);
  else attention_head_forward_f16(q, k, v, kv.stride, n_pos, head_dim, scores, out);
}

// The peers' heads (peer_numerics.h): scalar, for bit-level agreement, not speed.
void attention_head_peer(const float* q, const uint16_t* k, const uint16_t* v, int64_t kv_stride,
                         int64_t n_pos, int head_dim, bool probs_f16, float* scores, float* out) {
  const float scale = 1.0f / std::sqrt(float(head_dim));
  for (int64_t p = 0; p < n_pos; ++p) {
    const uint16_t* kr = k + p * kv_stride;
    double dot = 0;  // ggml_vec_dot_f16 sums in f32 lanes, then ggml_float
    for (int i = 0; i < head_dim; ++i) dot += double(q[i]) * fp16_to_f32(kr[i]);
    scores[p] = float(dot) * scale;
  }
  softmax_forward(Mat<float>(scores, 1, n_pos));
  std::fill(out, out + head_dim, 0.0f);
  for (int64_t p = 0; p < n_pos; ++p) {
    const uint16_t* vr = v + p * kv_stride;
    const float w = probs_f16 ? f16_round(scores[p]) : scores[p];
    for (int i = 0; i < head_dim; ++i) out[i] += w * fp16_to_f32(vr[i]);
  }
}

void attention_head_flash_f16(const float* q, const uint16_t* k, const uint16_t* v, int64_t kv_stride,
                              int64_t n_pos, int head_dim, float* acc16, float* out) {
  const float scale = 1.0f / std::sqrt(float(head_dim));
  float M = -INFINITY, S = 0;
  std::fill(acc16, acc16 + head_dim, 0.0f);
  for (int64_t p = 0; p < n_pos; ++p) {
    const uint16_t* kr = k + p * kv_stride;
    const uint16_t* vr = v + p * kv_stride;
    double dot = 0;
    for (int i = 0; i < head_dim; ++i) dot += double(q[i]) * fp16_to_f32(kr[i]);
    const float s = float(dot) * scale;
    float ms = 1, vs = 1;
    if (s > M) {
      const float m_old = M;
      M = s;
      ms = std::exp(m_old - M);
      for (int i = 0; i < head_dim; ++i) acc16[i] = f16_round(acc16[i] * ms);
    } else {
      vs = std::exp(s - M);
    }
    for (int i = 0; i < head_dim; ++i) acc16[i] = f16_round(acc16[i] + fp16_to_f32(vr[i]) * vs);
    S = S * ms + vs;
  }
  const float s_inv = 1.0f / S;
  for (int i = 0; i < head_dim; ++i) out[i] = acc16[i] * s_inv;
}

void attention_forward(Mat<const float> q, Mat<const float> k, Mat<const float> v, int n_heads,
                       int n_kv_heads, int head_dim, Mat<float> out, float* scores) {
  BITLM_ASSERT(n_kv_heads > 0 && n_heads % n_kv_heads == 0);
  BITLM_ASSERT(q.cols == int64_t(n_heads) * head_dim && k.cols == int64_t(n_kv_heads) * head_dim);
  BITLM_ASSERT(k.rows == q.rows && v.rows == q.rows && out.rows == q.rows && k.stride == v.stride);
  const int group = n_heads / n_kv_heads;
  for (int64_t t = 0; t < q.rows; ++t)
    for (int h = 0; h < n_heads; ++h) {
      const int64_t kv_off = int64_t(h / group) * head_dim;
      head_forward_f32(q.row_ptr(t) + int64_t(h) * head_dim, k.data + kv_off, v.data + kv_off, k.stride, t + 1,
                       head_dim, scores, out.row_ptr(t) + int64_t(h) * head_dim);
    }
}

// Training (ops_backward.h): forward and backward over a batch of fresh sequences.
namespace {

constexpr int64_t kBlock = 64;  // query/key rows per causal tile

void check_shapes(Mat<const float> q, Mat<const float> k, Mat<const float> v, int n_heads,
                  int n_kv_heads, int head_dim, int64_t seq_len) {
  BITLM_ASSERT(n_kv_heads > 0 && n_heads % n_kv_heads == 0 && seq_len > 0);
  BITLM_ASSERT(q.cols == int64_t(n_heads) * head_dim && k.cols == int64_t(n_kv_heads) * head_dim);
  BITLM_ASSERT(v.cols == k.cols && k.rows == q.rows && v.rows == q.rows && q.rows % seq_len == 0);
}

// One query row of the backward: p = softmax(scale * scores) over the n_pos visible keys and
// ds_j = scale * p_j (dp_j - sum_i p_i dp_i), both zeroed over the masked keys up to T, so the
// block matmuls that follow may run over whole rows.
void softmax_ds_row(float* p, float* ds, int64_t n_pos, int64_t T, float scale) {
  softmax_scaled_row(p, n_pos, scale);
  const float sum_pdp = float(dot_lanes(p, ds, n_pos));
  for (int64_t j = 0; j < n_pos; ++j) ds[j] = p[j] * (ds[j] - sum_pdp) * scale;
  std::fill(p + n_pos, p + T, 0.0f);
  std::fill(ds + n_pos, ds + T, 0.0f);
}

// rows x cols of a (row stride lda) -> cols x rows, dense, into out (the kernel table's exact transpose).
void transpose(const TrainMatmulKernels& mm, const float* a, int64_t lda, int64_t rows, int64_t cols,
               std::vector<float>& out) {
  out.resize(size_t(rows * cols));
  mm.transpose(a, lda, rows, cols, out.data());
}

// s[t][j] = x_t . y_j for t in [0, n_rows), j in [0, n_cols), with y given transposed (yt: head_dim
// rows of T): the acc kernel's outer products run 16 keys per vector, where dot products of only
// head_dim (32) floats would spend more on horizontal sums than on multiplies.
void scores_block(const TrainMatmulKernels& mm, const float* x, int64_t ldx, const std::vector<float>& yt,
                  int64_t T, int head_dim, float* s, int64_t n_rows, int64_t n_cols) {
  mm.acc(x, ldx, 1, yt.data(), T, s, T, 0, n_rows, 0, head_dim, n_cols, true);
}

}  // namespace

void attention_forward_mt(Mat<const float> q, Mat<const float> k, Mat<const float> v,
                          int n_heads, int n_kv_heads, int head_dim, int64_t seq_len,
                          Mat<float> out, ThreadPool& pool) {
  check_shapes(q, k, v, n_heads, n_kv_heads, head_dim, seq_len);
  BITLM_ASSERT(out.rows == q.rows && out.cols == q.cols);
  const int64_t n_seq = q.rows / seq_len, T = seq_len;
  const int group = n_heads / n_kv_heads;
  const float scale = 1.0f / std::sqrt(float(head_dim));
  const TrainMatmulKernels& mm = best_train_matmul_kernels();
  pool.parallel_for(0, n_seq * n_heads, 1, [&](int64_t u0, int64_t u1) {
    thread_local std::vector<float> p, kt;  // scores_block and the fills write all of p before any read
    p.resize(size_t(kBlock * T));
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t s = u / n_heads, h = u % n_heads, r0 = s * T;
      const int64_t q_off = h * head_dim, kv_off = (h / group) * head_dim;
      transpose(mm, k.row_ptr(r0) + kv_off, k.stride, T, head_dim, kt);
      const float* V = v.row_ptr(r0) + kv_off;
      for (int64_t t0 = 0; t0 < T; t0 += kBlock) {  // the causal tiles of the backward
        const int64_t end = std::min(T, t0 + kBlock);
        scores_block(mm, q.row_ptr(r0 + t0) + q_off, q.stride, kt, T, head_dim, p.data(), end - t0, end);
        for (int64_t t = t0; t < end; ++t) {
          float* pt = p.data() + (t - t0) * T;
          softmax_scaled_row(pt, t + 1, scale);  // the same p as the backward recomputes
          std::fill(pt + t + 1, pt + end, 0.0f);
        }
        mm.acc(p.data(), T, 1, V, v.stride, out.row_ptr(r0 + t0) + q_off, out.stride, 0, end - t0, 0, end,
               head_dim, true);
      }
    }
  });
}

void attention_backward(Mat<const float> dout, Mat<const float> q, Mat<const float> k,
                        Mat<const float> v, int n_heads, int n_kv_heads, int head_dim,
                        int64_t seq_len, Mat<float> dq, Mat<float> dk, Mat<float> dv,
                        ThreadPool& pool) {
  check_shapes(q, k, v, n_heads, n_kv_heads, head_dim, seq_len);
  BITLM_ASSERT(k.stride == v.stride && dk.stride == dv.stride);
  const int64_t n_seq = q.rows / seq_len, T = seq_len;
  const int group = n_heads / n_kv_heads;
  const float scale = 1.0f / std::sqrt(float(head_dim));
  const TrainMatmulKernels& mm = best_train_matmul_kernels();
  pool.parallel_for(0, n_seq * n_kv_heads, 1, [&](int64_t u0, int64_t u1) {
    // p, ds: (query t, key j), zero above the diagonal. Reused per thread, not zero-initialised:
    // scores_block writes each row's keys [0, end), softmax_ds_row zeroes [t + 1, T) (every
    // sequence and layer used to memset and page-fault two fresh 256 KiB buffers).
    thread_local std::vector<float> p, ds, kt, vt;
    p.resize(size_t(T * T));
    ds.resize(p.size());
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t s = u / n_kv_heads, kvh = u % n_kv_heads, r0 = s * T;
      const int64_t kv_off = kvh * head_dim;
      const float* K = k.row_ptr(r0) + kv_off;
      const float* V = v.row_ptr(r0) + kv_off;
      float* dK = dk.row_ptr(r0) + kv_off;
      float* dV = dv.row_ptr(r0) + kv_off;
      transpose(mm, K, k.stride, T, head_dim, kt);
      transpose(mm, V, v.stride, T, head_dim, vt);
      for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
        const int64_t q_off = h * head_dim;
        const float* Q = q.row_ptr(r0) + q_off;
        const float* dO = dout.row_ptr(r0) + q_off;
        // Blocks of kBlock queries see keys [0, end): the tiles above the diagonal are skipped.
        for (int64_t t0 = 0; t0 < T; t0 += kBlock) {
          const int64_t end = std::min(T, t0 + kBlock);
          float *pb = p.data() + t0 * T, *dsb = ds.data() + t0 * T;
          scores_block(mm, Q + t0 * q.stride, q.stride, kt, T, head_dim, pb, end - t0, end);  // q.k_j
          scores_block(mm, dO + t0 * dout.stride, dout.stride, vt, T, head_dim, dsb, end - t0, end);  // dp_j
          for (int64_t t = t0; t < end; ++t) softmax_ds_row(p.data() + t * T, ds.data() + t * T, t + 1, T, scale);
          mm.acc(dsb, T, 1, K, k.stride, dq.row_ptr(r0 + t0) + q_off, dq.stride, 0, end - t0, 0, end, head_dim, false);
        }
        // Keys [j0, end) are seen by queries [j0, T) only.
        for (int64_t j0 = 0; j0 < T; j0 += kBlock) {
          const int64_t end = std::min(T, j0 + kBlock);
          mm.acc(ds.data(), 1, T, Q, q.stride, dK, dk.stride, j0, end, j0, T, head_dim, false);  // ds^T q
          mm.acc(p.data(), 1, T, dO, dout.stride, dV, dv.stride, j0, end, j0, T, head_dim, false);  // p^T dout
        }
      }
    }
  });
}

}  // namespace bitlm
