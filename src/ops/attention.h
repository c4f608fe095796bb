// ops/attention.h — causal grouped-query attention (003 Fig. 12 keeps attention in full precision).
// q: (T, H*Dh); k, v: one row per position, Hkv*Dh values per row at `kv_stride` elements apart;
// query head h reads KV head h / (H/Hkv) (GQA, as llama.cpp and HF repeat_kv).
// Scores are q.k / sqrt(Dh), softmaxed over the visible positions only (no mask values stored).
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "core/cpu.h"
#include "core/mat.h"

namespace bitlm {

// One query head over positions [0, n_pos): out(Dh) = softmax(q.K^T * scale) V.
// scores: scratch of n_pos floats. K/V rows as f32 or as IEEE half bits (the inference KV cache).
void attention_head_forward(const float* q, const float* k, const float* v, int64_t kv_stride,
                            int64_t n_pos, int head_dim, float* scores, float* out);
void attention_head_forward_f16(const float* q, const uint16_t* k, const uint16_t* v,
                                int64_t kv_stride, int64_t n_pos, int head_dim, float* scores,
                                float* out);
// The f16 head's two passes per ISA, between which the softmax runs: scores[p] = scale * q.k[p];
// out = sum_p w[p] v[p]. SIMD passes need head_dim % 8 == 0 (the head runs ref otherwise); they sum
// in another order than ref: equal within rounding. The head uses the best, or the one BITLM_ISA
// names (core/cpu.h select_kernels); the tests run every one this CPU runs.
struct F16AttentionKernels {
  std::string_view isa;
  void (*scores)(const float* q, const uint16_t* k, int64_t kv_stride, int64_t n_pos, int head_dim, float scale,
                 float* scores);
  void (*mix)(const float* w, const uint16_t* v, int64_t kv_stride, int64_t n_pos, int head_dim, float* out);
  bool (*also_needs)(const CpuFeatures&) = nullptr;  // beyond `isa`: F16C for the AVX2 halves
};
// ref first, the best last.
std::span<const F16AttentionKernels* const> runnable_f16_attention_kernels();

void attention_scores_f16_ref(const float* q, const uint16_t* k, int64_t kv_stride, int64_t n_pos, int head_dim,
                              float scale, float* scores);
void attention_mix_f16_ref(const float* w, const uint16_t* v, int64_t kv_stride, int64_t n_pos, int head_dim,
                           float* out);
void attention_scores_f16_avx2(const float* q, const uint16_t* k, int64_t kv_stride, int64_t n_pos,
                               int head_dim, float scale, float* scores);
void attention_mix_f16_avx2(const float* w, const uint16_t* v, int64_t kv_stride, int64_t n_pos,
                            int head_dim, float* out);

// Whole causal attention for a fresh sequence (positions 0..T-1), f32 K/V: the training forward
// and tests. scores: scratch of T floats.
void attention_forward(Mat<const float> q, Mat<const float> k, Mat<const float> v, int n_heads,
                       int n_kv_heads, int head_dim, Mat<float> out, float* scores);

}  // namespace bitlm
