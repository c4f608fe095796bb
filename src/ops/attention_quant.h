// ops/attention_quant.h — one attention head over an 8-bit or 4-bit quantized KV cache. 003 §4.2
// (Table 6): "We quantize each head using symmetric absmax function ... the KV cache of BitNet
// b1.58 can be compressed to 4-bit integers without any accuracy loss". Here every K/V row of a
// head is cut into blocks of 32 values, each with its own absmax scale (ggml's Q8_0 / Q4_0
// layouts): a finer grain than one scale per head, so one outlier channel costs only its block.
//
// Layout: a head's row of head_dim values is ceil(head_dim / 32) blocks; a last partial block
// is zero-padded (a padded value is exactly 0 and is never read as an output). Blocks of one
// position lie contiguously for all KV heads, so a cache row is Hkv * blocks_per_head blocks and
// `stride` (in blocks) steps from one position to the next.
//   KvBlockQ8: f16 d, int8 q[32]            x = d * q,        q in [-127, 127]    34 bytes / 32
//   KvBlockQ4: f16 d, 16 bytes of nibbles   x = d * (n - 8),  n in [0, 15]        18 bytes / 32
//              byte j holds value j (low nibble) and value j + 16 (high nibble), as Q4_0.
//
// The kernels read the quantized rows directly (no f32 copy of the cache). The query is quantized
// per 32-block as q8 too (llama.cpp's vec_dot_type for a Q8_0 / Q4_0 K cache), so each block's
// q.k is an exact int32: scores[p] = scale * sum_blocks d_q d_k * int_dot; then the V pass in
// float, out = sum_p w[p] * d_p * codes_p. Quantizing happens once per K/V row at store time and
// once per query head (scalar, one implementation, so no ISA can differ in the codes).
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace bitlm {

constexpr int kKvBlock = 32;

struct KvBlockQ8 {
  uint16_t d;  // IEEE half scale
  int8_t q[kKvBlock];
};
struct KvBlockQ4 {
  uint16_t d;
  uint8_t q[kKvBlock / 2];
};
static_assert(sizeof(KvBlockQ8) == 34 && sizeof(KvBlockQ4) == 18);

inline int kv_blocks_per_head(int head_dim) { return (head_dim + kKvBlock - 1) / kKvBlock; }

// n values -> kv_blocks_per_head(n) blocks, symmetric absmax per block. q8: d = max|x| / 127,
// q = round(x / d). q4: ggml Q4_0's signed absmax, d = -(the value of largest magnitude) / 8, so
// that value lands exactly on code -8 and all 16 codes are in use; q = clamp(round(x / d), -8, 7).
void quantize_kv_q8(const float* x, int n, KvBlockQ8* out);
void quantize_kv_q4(const float* x, int n, KvBlockQ4* out);
void dequantize_kv_q8(const KvBlockQ8* b, int n, float* out);  // for tests and debugging
void dequantize_kv_q4(const KvBlockQ4* b, int n, float* out);

// One query head over positions [0, n_pos) of a quantized cache (contract as
// attention_head_forward in attention.h; `stride` in blocks). scores: n_pos floats of scratch.
void attention_head_forward_q8(const float* q, const KvBlockQ8* k, const KvBlockQ8* v, int64_t stride,
                               int64_t n_pos, int head_dim, float* scores, float* out);
void attention_head_forward_q4(const float* q, const KvBlockQ4* k, const KvBlockQ4* v, int64_t stride,
                               int64_t n_pos, int head_dim, float* scores, float* out);

// The two passes per ISA, q the query's q8 blocks. SIMD kernels need head_dim % 32 == 0 (the head
// functions above fall back to ref otherwise); their block sums are the same int32s, only the
// float accumulation order differs from ref: equal within rounding.
template <typename Block>
struct KvPassKernels {
  void (*scores)(const KvBlockQ8* q, const Block* k, int64_t stride, int64_t n_pos, int head_dim, float scale,
                 float* scores);
  void (*mix)(const float* w, const Block* v, int64_t stride, int64_t n_pos, int head_dim, float* out);
};
struct KvAttentionKernels {
  std::string_view isa;
  KvPassKernels<KvBlockQ8> q8;
  KvPassKernels<KvBlockQ4> q4;
};
// ref first, the best last; the heads use the best, or the one BITLM_ISA names.
std::span<const KvAttentionKernels* const> runnable_kv_attention_kernels();

void kv_scores_q8_avx2(const KvBlockQ8*, const KvBlockQ8*, int64_t, int64_t, int, float, float*);
void kv_mix_q8_avx2(const float*, const KvBlockQ8*, int64_t, int64_t, int, float*);
void kv_scores_q4_avx2(const KvBlockQ8*, const KvBlockQ4*, int64_t, int64_t, int, float, float*);
void kv_mix_q4_avx2(const float*, const KvBlockQ4*, int64_t, int64_t, int, float*);

}  // namespace bitlm
