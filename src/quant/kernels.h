// quant/kernels.h — the matmul kernels of quant/matrix.cpp and their ISA dispatch table: int8 x
// ternary GEMV/GEMM on every packed layout (quant/packed_layout.h: byte layouts), their f32
// variants (`--act none`), and the dense-row dots of the output head (F32/F16/BF16/Q8_0/Q6_K).
//
// Ternary kernels (PackedKernels, one slot per layout): activations are padded to whole blocks
// with zeros, so the kernels read whole blocks and the padding weights contribute nothing. They
// multiply the unsigned codes (w + 1) with signed int8 x (maddubs / vpdpbusd / sdot) and use
// dot(code, x) - sum(x) = dot(w, x); x_sum is sum(x) per token.
//
// Contract: every implementation writes exactly its layout's _ref int32 sums (callers apply the
// scales, 003 Fig. 12). A kernel works on rows [0, n_rows) from `w` (callers offset w and y to a
// thread's row range). Kernels never allocate or throw.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "core/ggml_types.h"

namespace bitlm {

// y[r] = dot(W[r], x)
using TernaryGemv = void (*)(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum,
                        int32_t* y, int64_t n_rows);
// y[t * y_stride + r] = dot(W[r], x[t * x_stride ...]) for t < T (prefill: each decoded weight
// block is reused across a tile of tokens)
using TernaryGemm = void (*)(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                        const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride,
                        int64_t n_rows);
// Float activations (`--act none`): y[t * y_stride + r] = sum_i W[r][i] * x[t][i], x padded with
// zeros like the int8 case; x_sum[t] = sum of x[t]. Float sums: not bit-equal across ISAs.
using TernaryGemmF32 = void (*)(const uint8_t* w, int64_t row_bytes, const float* x, int64_t x_stride,
                           const float* x_sum, int64_t T, float* y, int64_t y_stride,
                           int64_t n_rows);
// Float dot product (dense heads).
using DotF32 = float (*)(const float* a, const float* b, int64_t n);
// Dot of one encoded dense row (F16, BF16, Q8_0 or Q6_K bytes; n a multiple of the block) with
// float x, decoding on the fly: the head streams each row once and keeps no f32 copy.
using DotRow = float (*)(const uint8_t* row, const float* x, int64_t n);
// Dot of one Q8_0 row with x quantized per 32-block the same way (xq int8, xd one float scale per
// block; quantize_q8_0_blocks): sum_b d_w[b] * xd[b] * int_dot_b. The block sums are exact int32,
// only the float accumulation order differs between ISAs. This is llama.cpp's Q8_0 x Q8_0 head:
// the row is read once at 8.5 bits per weight and the dot runs on int8 SIMD. The SIMD kernels
// prefetch each 34-byte block kPrefetchAhead bytes ahead, as DotQ6KQ8's do (below).
// The same type serves the Q4_0 head (dot_q4_0_q8: ggml's block of an f16 d and 16 bytes of
// nibbles, w = d * (q - 8), element j in the low nibble of byte j and j + 16 in the high one;
// llama.cpp's Q4_0 x Q8_0): the row is read at 4.5 bits per weight.
using DotQ8Q8 = float (*)(const uint8_t* row, const int8_t* xq, const float* xd, int64_t n);
// Dot of one Q6_K row with x quantized per 256-block like ggml's Q8_K (quantize_q8_k_blocks: xq
// int8, xd one float step per block, xsum16 the sum of every 16 xq). Per block the kernels form
// the exact int32 sum_g sc[g] * sum_i (q_i - 32) * x_i over the 16 scale groups (unsigned 6-bit
// codes q times x, minus 32 * xsum16[g]) and add the blocks in order with
// std::fma(d_w * xd[b], sum, acc): every ISA returns ref's float bit for bit. One float step per
// 256 values (not per 32 as for Q8_0) keeps the 16 sub-scales of a block in integer arithmetic.
// The SIMD kernels prefetch every block kPrefetchAhead bytes ahead (core/prefetch.h): the whole
// row's 33 prefetches at once, from the caller's row loop, stalled on the line fill buffers
// (2B-4T head 1.2x slower, docs/performance.md).
using DotQ6KQ8 = float (*)(const uint8_t* row, const int8_t* xq, const float* xd, const int16_t* xsum16,
                           int64_t n);
// The same Q6_K row against T activation rows (row t: xq + t * n, xd + t * n / 256, xsum16 + t * n / 16,
// as quantize_q8_k_blocks writes them back to back): y[t * y_stride] = DotQ6KQ8(row, row t), bit for
// bit. A batched head (one logits row per decoding stream) decodes each 6-bit block and its scales
// once for all T rows instead of once per row: the decode was ~60% of the AVX2 dot's work, and the
// head 39% of a 16-stream server step on the 2B-4T shape (docs/serving.md).
using DotQ6KQ8Rows = void (*)(const uint8_t* row, const int8_t* xq, const float* xd, const int16_t* xsum16,
                              int64_t n, int64_t T, float* y, int64_t y_stride);
// DotQ6KQ8Rows as T calls of one DotQ6KQ8 (the ISAs without a kernel of their own).
template <DotQ6KQ8 kDot>
void dot_q6_k_q8_rows_each(const uint8_t* row, const int8_t* xq, const float* xd, const int16_t* xsum16, int64_t n,
                           int64_t T, float* y, int64_t y_stride) {
  for (int64_t t = 0; t < T; ++t) y[t * y_stride] = kDot(row, xq + t * n, xd + t * (n / 256), xsum16 + t * (n / 16), n);
}
// x (n a multiple of 256) to the activations of DotQ6KQ8: absmax int8 per 256 values (003 eq. 6-7
// with one scale per block), xd = max|x| / 127 per block, xsum16 = sum of each 16 xq.
void quantize_q8_k_blocks(const float* x, int64_t n, int8_t* xq, float* xd, int16_t* xsum16);

// One packed layout's kernels (PackedLayout::kernels names the slot).
struct PackedKernels {
  TernaryGemv gemv;
  TernaryGemm gemm;
  TernaryGemmF32 gemm_f32;
};

struct MatmulKernels {
  std::string_view isa;
  PackedKernels t2;  // 128-weight blocks, 4 codes per byte
  PackedKernels t1;  // 160-weight blocks, 5 codes per byte (1.6 bits); gemm_f32 is the ref in every ISA
  DotF32 dot_f32;
  DotRow dot_f16, dot_bf16, dot_q8_0, dot_q6_k;
  DotQ8Q8 dot_q8_0_q8;
  DotQ6KQ8 dot_q6_k_q8;
  DotQ8Q8 dot_q4_0_q8;  // a Q4_0 row, x as for dot_q8_0_q8
  DotQ6KQ8Rows dot_q6_k_q8_rows;
  // The packed layout whose GEMV decodes fastest with this table (a ggml id, kGgmlBitlmT1 or T2):
  // load_layout (quant/packed_layout.h) keeps every ternary matrix in it. AVX-512 T1 (byte-sum
  // vpdpbusd GEMV, bandwidth-bound from 12% fewer bytes), AVX2 T2 (T1's digit extraction keeps
  // its GEMV compute-bound: tg 0.69-0.8x T2 on a Zen 3, docs/performance.md "Layout per machine"),
  // NEON and ref T2 (unmeasured on ARM hardware: T2's codes cost a shift and a mask, T1's a
  // multiply chain).
  uint32_t fastest_layout;
};

// The best runnable ISA, chosen once from cpu_features(); BITLM_ISA=ref|avx2|avx512|neon overrides
// (UserError if that ISA cannot run here).
const MatmulKernels& best_kernels();
// Every ISA this CPU can run, ref first (tests, benches).
std::span<const MatmulKernels* const> runnable_kernels();

// Per-ISA implementations (each file holds only intrinsics and static helpers).
void gemv_t2_ref(const uint8_t*, int64_t, const int8_t*, int32_t, int32_t*, int64_t);
void gemm_t2_ref(const uint8_t*, int64_t, const int8_t*, int64_t, const int32_t*, int64_t, int32_t*,
                 int64_t, int64_t);
void gemm_t2_f32_ref(const uint8_t*, int64_t, const float*, int64_t, const float*, int64_t, float*,
                     int64_t, int64_t);
float dot_f32_ref(const float*, const float*, int64_t);
float dot_f16_ref(const uint8_t*, const float*, int64_t);
float dot_bf16_ref(const uint8_t*, const float*, int64_t);
float dot_q8_0_ref(const uint8_t*, const float*, int64_t);
float dot_q6_k_ref(const uint8_t*, const float*, int64_t);
float dot_q8_0_q8_ref(const uint8_t*, const int8_t*, const float*, int64_t);
float dot_q6_k_q8_ref(const uint8_t*, const int8_t*, const float*, const int16_t*, int64_t);
float dot_q4_0_q8_ref(const uint8_t*, const int8_t*, const float*, int64_t);
void gemv_t1_ref(const uint8_t*, int64_t, const int8_t*, int32_t, int32_t*, int64_t);
void gemm_t1_ref(const uint8_t*, int64_t, const int8_t*, int64_t, const int32_t*, int64_t, int32_t*,
                 int64_t, int64_t);
void gemm_t1_f32_ref(const uint8_t*, int64_t, const float*, int64_t, const float*, int64_t, float*,
                     int64_t, int64_t);
#if defined(__x86_64__) || defined(_M_X64)
void gemv_t2_avx2(const uint8_t*, int64_t, const int8_t*, int32_t, int32_t*, int64_t);
void gemm_t2_avx2(const uint8_t*, int64_t, const int8_t*, int64_t, const int32_t*, int64_t, int32_t*,
                  int64_t, int64_t);
void gemm_t2_f32_avx2(const uint8_t*, int64_t, const float*, int64_t, const float*, int64_t, float*,
                      int64_t, int64_t);
float dot_f32_avx2(const float*, const float*, int64_t);
float dot_f16_avx2(const uint8_t*, const float*, int64_t);
float dot_bf16_avx2(const uint8_t*, const float*, int64_t);
float dot_q8_0_avx2(const uint8_t*, const float*, int64_t);
float dot_q6_k_avx2(const uint8_t*, const float*, int64_t);
float dot_q8_0_q8_avx2(const uint8_t*, const int8_t*, const float*, int64_t);
float dot_q4_0_q8_avx2(const uint8_t*, const int8_t*, const float*, int64_t);
float dot_q8_0_q8_avx512(const uint8_t*, const int8_t*, const float*, int64_t);
float dot_q6_k_q8_avx2(const uint8_t*, const int8_t*, const float*, const int16_t*, int64_t);
void dot_q6_k_q8_rows_avx2(const uint8_t*, const int8_t*, const float*, const int16_t*, int64_t, int64_t, float*,
                           int64_t);
float dot_q6_k_q8_avx512(const uint8_t*, const int8_t*, const float*, const int16_t*, int64_t);
void gemv_t2_avx512(const uint8_t*, int64_t, const int8_t*, int32_t, int32_t*, int64_t);
void gemm_t2_avx512(const uint8_t*, int64_t, const int8_t*, int64_t, const int32_t*, int64_t, int32_t*,
                    int64_t, int64_t);
void gemv_t1_avx2(const uint8_t*, int64_t, const int8_t*, int32_t, int32_t*, int64_t);
void gemm_t1_avx2(const uint8_t*, int64_t, const int8_t*, int64_t, const int32_t*, int64_t, int32_t*,
                  int64_t, int64_t);
void gemv_t1_avx512(const uint8_t*, int64_t, const int8_t*, int32_t, int32_t*, int64_t);
void gemm_t1_avx512(const uint8_t*, int64_t, const int8_t*, int64_t, const int32_t*, int64_t, int32_t*,
                    int64_t, int64_t);
#endif
#if defined(__aarch64__)
void gemv_t2_neon(const uint8_t*, int64_t, const int8_t*, int32_t, int32_t*, int64_t);
void gemm_t2_neon(const uint8_t*, int64_t, const int8_t*, int64_t, const int32_t*, int64_t, int32_t*,
                  int64_t, int64_t);
void gemv_t1_neon(const uint8_t*, int64_t, const int8_t*, int32_t, int32_t*, int64_t);
void gemm_t1_neon(const uint8_t*, int64_t, const int8_t*, int64_t, const int32_t*, int64_t, int32_t*,
                  int64_t, int64_t);
float dot_q8_0_q8_neon(const uint8_t*, const int8_t*, const float*, int64_t);
float dot_q6_k_q8_neon(const uint8_t*, const int8_t*, const float*, const int16_t*, int64_t);
#endif

}  // namespace bitlm
