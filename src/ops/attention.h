// ops/attention.h — causal grouped-query attention (003 Fig. 12 keeps attention in full precision).
// q: (T, H*Dh); k, v: one row per position, Hkv*Dh values per row at `kv_stride` elements apart;
// query head h reads KV head h / (H/Hkv) (GQA, as llama.cpp and HF repeat_kv).
// Scores are q.k / sqrt(Dh), softmaxed over the visible positions only (no mask values stored).
#pragma once
#include <cstdint>

#include "core/mat.h"

namespace bitlm {

// One query head over positions [0, n_pos): out(Dh) = softmax(q.K^T * scale) V.
// scores: scratch of n_pos floats. K/V rows as f32 or as IEEE half bits (the inference KV cache).
void attention_head_forward(const float* q, const float* k, const float* v, int64_t kv_stride,
                            int64_t n_pos, int head_dim, float* scores, float* out);
void attention_head_forward_f16(const float* q, const uint16_t* k, const uint16_t* v,
                                int64_t kv_stride, int64_t n_pos, int head_dim, float* scores,
                                float* out);
// AVX2/F16C halves of the f16 head (head_dim % 8 == 0), used by attention_head_forward_f16 when
// the CPU can: scores[p] = scale * q.k[p]; out = sum_p w[p] v[p].
void attention_scores_f16_avx2(const float* q, const uint16_t* k, int64_t kv_stride, int64_t n_pos,
                               int head_dim, float scale, float* scores);
void attention_mix_f16_avx2(const float* w, const uint16_t* v, int64_t kv_stride, int64_t n_pos,
                            int head_dim, float* out);

// Whole causal attention for a fresh sequence (positions 0..T-1), f32 K/V: the training forward
// and tests. scores: scratch of T floats.
void attention_forward(Mat<const float> q, Mat<const float> k, Mat<const float> v, int n_heads,
                       int n_kv_heads, int head_dim, Mat<float> out, float* scores);

}  // namespace bitlm
