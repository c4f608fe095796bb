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

// The KV cache's storage (model/kv_cache.h): IEEE halves, or q8/q4 blocks (attention_quant.h).
enum class KvCacheType { kF16, kQ8, kQ4 };

// One KV head of a cache: k and v at the head's first position (halves, KvBlockQ8 or KvBlockQ4 as
// `type` says), `stride` elements of that type from one position to the next.
struct KvHeadView {
  KvCacheType type = KvCacheType::kF16;
  const void* k = nullptr;
  const void* v = nullptr;
  int64_t stride = 0;
};

struct PeerNumerics;

// The inference forward's attention: one query head over positions [0, n_pos) of a cache head.
// The storage picks the kernel (f16 here, q8/q4 in attention_quant.h) and on f16 the peer
// numerics may replace it (peer_numerics.h: probs-f16, flash-f16; the query's f16 rounding is the
// caller's, before the cache store). scores: max(n_pos, head_dim) floats of scratch.
void attention_head(const KvHeadView& kv, const float* q, int64_t n_pos, int head_dim, const PeerNumerics& num,
                    float* scores, float* out);

// One causal attention head over an f16 KV cache as ggml computes it without flash attention:
// scores = (q . k) * scale in f32, f32 softmax, then P.V with P optionally rounded to f16.
// q must already hold the (possibly f16-rounded) query. scores: n_pos floats of scratch. (peer_numerics.h)
void attention_head_peer(const float* q, const uint16_t* k, const uint16_t* v, int64_t kv_stride,
                         int64_t n_pos, int head_dim, bool probs_f16, float* scores, float* out);
// The same head as ggml's CPU flash attention with an f16 V (flash_attn_ext_f16_one_chunk): one
// pass with a running max M and sum S; the output accumulator is an f16 row, rescaled by
// exp(M_old - M) when the max grows. acc16: head_dim floats of scratch.
void attention_head_flash_f16(const float* q, const uint16_t* k, const uint16_t* v, int64_t kv_stride,
                              int64_t n_pos, int head_dim, float* acc16, float* out);


// Whole causal attention for a fresh sequence (positions 0..T-1), f32 K/V: the training forward
// and tests. scores: scratch of T floats.
void attention_forward(Mat<const float> q, Mat<const float> k, Mat<const float> v, int n_heads,
                       int n_kv_heads, int head_dim, Mat<float> out, float* scores);

}  // namespace bitlm
