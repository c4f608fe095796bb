// ops/attention_quant.cpp — see attention_quant.h: the block quantizers, the scalar reference
// passes (any head_dim) and the per-ISA dispatch.
#include "ops/attention_quant.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/checked.h"
#include "core/cpu.h"
#include "core/fp16.h"
#include "core/mat.h"
#include "ops/ops.h"

namespace bitlm {
namespace {

inline int code(const KvBlockQ8& b, int j) { return b.q[j]; }
inline int code(const KvBlockQ4& b, int j) {
  return (j < kKvBlock / 2 ? b.q[j] & 15 : b.q[j - kKvBlock / 2] >> 4) - 8;
}

// n values of block b of a head (the last may be partial).
inline int block_len(int head_dim, int b) { return std::min(kKvBlock, head_dim - b * kKvBlock); }

// Padding codes are 0 on both sides, so whole blocks are summed.
template <typename Block>
float dot_ref(const KvBlockQ8* q, const Block* k, int head_dim) {
  float dot = 0;
  for (int b = 0; b < kv_blocks_per_head(head_dim); ++b) {
    int32_t s = 0;
    for (int j = 0; j < kKvBlock; ++j) s += int32_t(q[b].q[j]) * code(k[b], j);
    dot += fp16_to_f32(k[b].d) * fp16_to_f32(q[b].d) * float(s);
  }
  return dot;
}

template <typename Block>
void scores_ref(const KvBlockQ8* q, const Block* k, int64_t stride, int64_t n_pos, int head_dim, float scale,
                float* scores) {
  for (int64_t p = 0; p < n_pos; ++p) scores[p] = dot_ref(q, k + p * stride, head_dim) * scale;
}

template <typename Block>
void mix_ref(const float* w, const Block* v, int64_t stride, int64_t n_pos, int head_dim, float* out) {
  std::fill(out, out + head_dim, 0.0f);
  for (int64_t p = 0; p < n_pos; ++p)
    for (int b = 0; b < kv_blocks_per_head(head_dim); ++b) {
      const Block& blk = v[p * stride + b];
      const float wd = w[p] * fp16_to_f32(blk.d);
      for (int j = 0; j < block_len(head_dim, b); ++j) out[b * kKvBlock + j] += wd * float(code(blk, j));
    }
}

constexpr KvAttentionKernels kRef = {"ref", {scores_ref<KvBlockQ8>, mix_ref<KvBlockQ8>},
                                     {scores_ref<KvBlockQ4>, mix_ref<KvBlockQ4>}};
#if defined(__x86_64__) || defined(_M_X64)
constexpr KvAttentionKernels kAvx2 = {"avx2", {kv_scores_q8_avx2, kv_mix_q8_avx2},
                                      {kv_scores_q4_avx2, kv_mix_q4_avx2}};
#endif

std::vector<const KvAttentionKernels*> detect() {
  std::vector<const KvAttentionKernels*> k = {&kRef};
#if defined(__x86_64__) || defined(_M_X64)
  if (cpu_runs_isa("avx2")) k.push_back(&kAvx2);
#endif
  return k;
}

const KvAttentionKernels& best() {
  static const KvAttentionKernels& k = select_kernels(runnable_kv_attention_kernels());
  return k;
}

// Largest |x| of the block, with its sign.
float signed_absmax(const float* x, int n) {
  float m = 0;
  for (int j = 0; j < n; ++j)
    if (std::fabs(x[j]) > std::fabs(m)) m = x[j];
  return m;
}

// The block's f16 scale, and the reciprocal of exactly that f16 value (0 for an all-zero block):
// codes are chosen against the scale the kernels will multiply by.
float f16_scale(float d, uint16_t& d16) {
  d16 = f32_to_fp16(d);
  const float back = fp16_to_f32(d16);
  return back != 0 ? 1.0f / back : 0.0f;
}

template <typename Block, typename Fill>
void quantize_blocks(const float* x, int n, Block* out, Fill fill) {
  for (int b = 0; b < kv_blocks_per_head(n); ++b) {
    float vals[kKvBlock] = {};
    std::copy(x + b * kKvBlock, x + b * kKvBlock + block_len(n, b), vals);
    fill(vals, out[b]);
  }
}

// The SIMD passes need whole blocks per head; other head sizes run the reference.
template <typename Block>
void head_forward(const float* q, const Block* k, const Block* v, int64_t stride, int64_t n_pos, int head_dim,
                  float* scores, float* out, KvPassKernels<Block> KvAttentionKernels::*type) {
  const KvPassKernels<Block>& pass = (head_dim % kKvBlock == 0 ? best() : kRef).*type;
  thread_local std::vector<KvBlockQ8> qq;  // grows once per thread to the largest head
  qq.resize(size_t(kv_blocks_per_head(head_dim)));
  quantize_kv_q8(q, head_dim, qq.data());
  pass.scores(qq.data(), k, stride, n_pos, head_dim, 1.0f / std::sqrt(float(head_dim)), scores);
  softmax_forward(Mat<float>(scores, 1, n_pos));
  pass.mix(scores, v, stride, n_pos, head_dim, out);
}

template <typename Block>
void dequantize(const Block* b, int n, float* out) {
  for (int i = 0; i < n; ++i) out[i] = fp16_to_f32(b[i / kKvBlock].d) * float(code(b[i / kKvBlock], i % kKvBlock));
}

}  // namespace

std::span<const KvAttentionKernels* const> runnable_kv_attention_kernels() {
  static const std::vector<const KvAttentionKernels*> k = detect();
  return k;
}

void quantize_kv_q8(const float* x, int n, KvBlockQ8* out) {
  quantize_blocks(x, n, out, [](const float* v, KvBlockQ8& b) {
    const float id = f16_scale(std::fabs(signed_absmax(v, kKvBlock)) / 127, b.d);
    for (int j = 0; j < kKvBlock; ++j) b.q[j] = int8_t(clamp_nan_low(std::nearbyint(v[j] * id), -127.0f, 127.0f));
  });
}

void quantize_kv_q4(const float* x, int n, KvBlockQ4* out) {
  quantize_blocks(x, n, out, [](const float* v, KvBlockQ4& b) {
    const float id = f16_scale(signed_absmax(v, kKvBlock) / -8, b.d);
    int c[kKvBlock];
    for (int j = 0; j < kKvBlock; ++j) c[j] = int(clamp_nan_low(std::nearbyint(v[j] * id), -8.0f, 7.0f)) + 8;
    for (int j = 0; j < kKvBlock / 2; ++j) b.q[j] = uint8_t(c[j] | (c[j + kKvBlock / 2] << 4));
  });
}

void dequantize_kv_q8(const KvBlockQ8* b, int n, float* out) { dequantize(b, n, out); }
void dequantize_kv_q4(const KvBlockQ4* b, int n, float* out) { dequantize(b, n, out); }

void attention_head_forward_q8(const float* q, const KvBlockQ8* k, const KvBlockQ8* v, int64_t stride,
                               int64_t n_pos, int head_dim, float* scores, float* out) {
  head_forward(q, k, v, stride, n_pos, head_dim, scores, out, &KvAttentionKernels::q8);
}

void attention_head_forward_q4(const float* q, const KvBlockQ4* k, const KvBlockQ4* v, int64_t stride,
                               int64_t n_pos, int head_dim, float* scores, float* out) {
  head_forward(q, k, v, stride, n_pos, head_dim, scores, out, &KvAttentionKernels::q4);
}

}  // namespace bitlm
