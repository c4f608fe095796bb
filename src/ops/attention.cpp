// ops/attention.cpp — see attention.h. Scalar reference; the K/V loads are the only difference
// between the f32 and f16 variants, so both instantiate one template of two passes. The f16
// (inference) head runs the passes of the ISA select_kernels picks (attention_avx2.cpp with
// AVX2/FMA/F16C; BITLM_ISA=ref forces the reference).
#include "ops/attention.h"

#include <cmath>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/fp16.h"
#include "ops/ops.h"

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

}  // namespace bitlm
