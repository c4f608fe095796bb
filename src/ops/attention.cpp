// ops/attention.cpp — see attention.h. Scalar reference; the K/V loads are the only difference
// between the f32 and f16 variants, so both instantiate one template. The f16 (inference) head
// goes to attention_avx2.cpp when the CPU has AVX2/FMA/F16C (checked once).
#include "ops/attention.h"

#include <cmath>

#include "core/cpu.h"
#include "core/error.h"
#include "core/fp16.h"
#include "ops/ops.h"

namespace bitlm {
namespace {

inline float load(float v) { return v; }
inline float load(uint16_t h) { return fp16_to_f32(h); }

template <typename KV>
void head_forward(const float* q, const KV* k, const KV* v, int64_t kv_stride, int64_t n_pos,
                  int head_dim, float* scores, float* out) {
  const float scale = 1.0f / std::sqrt(float(head_dim));
  for (int64_t p = 0; p < n_pos; ++p) {
    const KV* kr = k + p * kv_stride;
    float dot = 0;
    for (int i = 0; i < head_dim; ++i) dot += q[i] * load(kr[i]);
    scores[p] = dot * scale;
  }
  softmax_forward(Mat<float>(scores, 1, n_pos));
  for (int i = 0; i < head_dim; ++i) out[i] = 0;
  for (int64_t p = 0; p < n_pos; ++p) {
    const KV* vr = v + p * kv_stride;
    const float w = scores[p];
    for (int i = 0; i < head_dim; ++i) out[i] += w * load(vr[i]);
  }
}

}  // namespace

void attention_head_forward(const float* q, const float* k, const float* v, int64_t kv_stride,
                            int64_t n_pos, int head_dim, float* scores, float* out) {
  head_forward(q, k, v, kv_stride, n_pos, head_dim, scores, out);
}

void attention_head_forward_f16(const float* q, const uint16_t* k, const uint16_t* v,
                                int64_t kv_stride, int64_t n_pos, int head_dim, float* scores,
                                float* out) {
#if defined(__x86_64__) || defined(_M_X64)
  static const bool avx2 = [] {
    const CpuFeatures& f = cpu_features();
    return f.avx2 && f.fma && f.f16c;
  }();
  if (avx2 && head_dim % 8 == 0) {
    attention_scores_f16_avx2(q, k, kv_stride, n_pos, head_dim, 1.0f / std::sqrt(float(head_dim)), scores);
    softmax_forward(Mat<float>(scores, 1, n_pos));
    return attention_mix_f16_avx2(scores, v, kv_stride, n_pos, head_dim, out);
  }
#endif
  head_forward(q, k, v, kv_stride, n_pos, head_dim, scores, out);
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
      head_forward(q.row_ptr(t) + int64_t(h) * head_dim, k.data + kv_off, v.data + kv_off,
                   k.stride, t + 1, head_dim, scores, out.row_ptr(t) + int64_t(h) * head_dim);
    }
}

}  // namespace bitlm
