// ops/ops_backward.h — backward passes of the shared forward ops (ops.h, attention.h) and the
// training-only ops: fp32 matmul (dX/dW), cross-entropy, BitLinear with the straight-through
// estimator (003 Fig. 11). Shapes: T tokens (rows), D/K input dim, N output dim, F FFN dim,
// H/Hkv heads, Dh head dim, V vocab. Every *_backward ADDS into its gradients (llm.c style), except
// the matmuls given MatmulOut::kOverwrite: the trainer zeroes only the gradients that are added to.
// Parallel ops split over output elements only, so results never depend on the thread count
// (data-parallel runs and --resume must be bit-exact).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/mat.h"
#include "core/thread_pool.h"
#include "quant/matrix.h"

namespace bitlm {

// RMSNorm (ops.h): dx += dL/dx, dg += dL/dg. x: the forward input, rstd: as saved by the forward.
void rms_norm_backward(Mat<const float> dy, Mat<const float> x, std::span<const float> g,
                       std::span<const float> rstd, Mat<float> dx, std::span<float> dg,
                       ThreadPool& pool);

// RoPE for training: the cos/sin of every (position, pair) computed once, the very floats
// rope_forward computes per call (its double-precision sin/cos and pow were ~3% of a step), so
// rope_forward_table is bit-identical to rope_forward for positions in [0, n_pos).
struct RopeTable {
  int head_dim = 0;
  std::vector<float> cos, sin;  // (n_pos, head_dim / 2)
};
RopeTable rope_table(int64_t n_pos, int head_dim, float theta);
void rope_forward_table(Mat<float> x, int n_heads, const RopeTable& table, std::span<const int32_t> pos, bool neox);
// RoPE is a rotation: its backward rotates dx in place by the opposite angles.
void rope_backward(Mat<float> dx, int n_heads, const RopeTable& table, std::span<const int32_t> pos, bool neox);

// Row softmax: dx += y * (dy - sum(dy*y)). y: the forward output.
void softmax_backward(Mat<const float> dy, Mat<const float> y, Mat<float> dx);

// FFN gates (out = act(gate) * up): dgate = dout * up * act'(gate), dup = dout * act(gate),
// overwritten (the trainer zeroed them only to add onto: a 2 x T x F memset per layer and sequence).
void swiglu_backward(Mat<const float> dout, Mat<const float> gate, Mat<const float> up,
                     Mat<float> dgate, Mat<float> dup);
void relu2_glu_backward(Mat<const float> dout, Mat<const float> gate, Mat<const float> up,
                        Mat<float> dgate, Mat<float> dup);

// Causal GQA attention over a batch of fresh sequences (attention.h): rows are n_seq sequences of
// seq_len tokens each, positions 0..seq_len-1. q: (rows, H*Dh), k, v: (rows, Hkv*Dh).
// Both run per (sequence, head) as causal-tiled block matmuls on the fp32 training kernels; the
// backward recomputes the probabilities rather than storing (H, T, T) of them.
void attention_forward_mt(Mat<const float> q, Mat<const float> k, Mat<const float> v,
                          int n_heads, int n_kv_heads, int head_dim, int64_t seq_len,
                          Mat<float> out, ThreadPool& pool);
void attention_backward(Mat<const float> dout, Mat<const float> q, Mat<const float> k,
                        Mat<const float> v, int n_heads, int n_kv_heads, int head_dim,
                        int64_t seq_len, Mat<float> dq, Mat<float> dk, Mat<float> dv,
                        ThreadPool& pool);

// fp32 matmul with W stored as nn.Linear does: x (T, K), w (N, K), y (T, N).
// matmul_forward overwrites y = x W^T; the backward adds dx += dy W and dw += dy^T x, or with
// MatmulOut::kOverwrite writes dx = dy W, dw = dy^T x without reading (or needing zeroed) outputs.
enum class MatmulOut { kAdd, kOverwrite };
void matmul_forward(Mat<const float> x, Mat<const float> w, Mat<float> y, ThreadPool& pool);
// y = x w_t with w_t = W^T stored (K, N): the same product as matmul_forward, as outer products
// (the acc kernel), faster when the caller keeps W^T (the training head: 4096 x 256).
void matmul_forward_transposed(Mat<const float> x, Mat<const float> w_t, Mat<float> y, ThreadPool& pool);
void matmul_backward_input(Mat<const float> dy, Mat<const float> w, Mat<float> dx,
                           ThreadPool& pool, MatmulOut out = MatmulOut::kAdd);
void matmul_backward_weight(Mat<const float> dy, Mat<const float> x, Mat<float> dw,
                            ThreadPool& pool, MatmulOut out = MatmulOut::kAdd);
// The two in bf16 for the BitLinear backward (ops/matmul_bf16.cpp): dx += dy w_q and
// dw += dy^T x_q with dy rounded to bf16 and the quantized operands scaled back to their codes
// (exact in bf16); AVX-512 BF16 where the CPU has it, the same bits from the plain reference.
void matmul_backward_input_bf16(Mat<const float> dy, Mat<const float> w_q, Mat<float> dx, ThreadPool& pool);
void matmul_backward_weight_bf16(Mat<const float> dy, Mat<const float> x_q, Mat<float> dw, ThreadPool& pool);

// Cross-entropy of logits (T, V) against targets (T): returns the summed loss (double) and
// overwrites logits with dL/dlogits * grad_scale = (softmax - onehot) * grad_scale.
// A negative target is ignored (no loss, zero gradient).
double cross_entropy_forward_backward(Mat<float> logits, std::span<const int32_t> targets,
                                      float grad_scale, ThreadPool& pool);
// The loss alone (evaluation), logits untouched.
double cross_entropy_loss(Mat<const float> logits, std::span<const int32_t> targets,
                          ThreadPool& pool);

// BitLinear (003 Fig. 11), with the norm applied by the caller before it (SubLN).
// b1.58: absmean ternary weights (eq. 3-5); b1: centred sign times beta (eq. 1-2); fp: identity
// (the FP-LLaMA baseline: no weight nor activation quantization).
enum class WeightMode { kTernary, kBinary, kFp };

// Dequantized weight as the forward sees it: w_q = q * beta (fp: a copy of w). w, w_q: (N, K).
// Returns beta (1 for fp).
float bitlinear_quantize_weight(WeightMode mode, Mat<const float> w, Mat<float> w_q);
// Per-token absmax int8 fake-quant (eq. 6-7), dequantized: x_q = round(x*s)/s. fp: a copy.
void bitlinear_quantize_input(WeightMode mode, Mat<const float> x, Mat<float> x_q,
                              ThreadPool& pool);

// Elastic activation quantizer (003 sec. 5, Table 9: Liu et al. 2022 BiT's elastic function, in
// LSQ's form, Esser et al. 2020): x_q = alpha * clip(round(x / alpha), -127, 127) with ONE learnable
// scale alpha for the whole input (quant/quantize.h quantize_elastic_int8; x_q written as q / s,
// s = 1/alpha, as the absmax path writes q / s). xi (optional): the int8 codes, scales s and code
// sums that ternary_matmul reads.
void elastic_quantize_input(Mat<const float> x, float alpha, Mat<float> x_q, QuantizedActivations* xi,
                            ThreadPool& pool);
// Its backward, u = x / alpha (LSQ eq. 3-5): dL/dx = dL/dx_q where -127 <= u <= 127 (STE inside the
// clip range), 0 outside; dL/dalpha = sum dL/dx_q * (round(u) - u) inside and * clip(u) = +-127
// outside, times LSQ's gradient scale 1/sqrt(x.cols * 127) (features per token x Qp).
// dx holds dL/dx_q on entry and dL/dx on exit. Returns dL/dalpha: per-row sums in double, added
// in row order (the same float whatever the thread count).
float elastic_quantize_backward(Mat<const float> x, float alpha, Mat<float> dx, ThreadPool& pool);

// Group quantization for model-parallel training (003 App. A.1): the weight's N rows split into
// `groups` equal row groups, each quantized alone with its own beta (and b1's alpha) (eq. 14);
// each token's K inputs split into `groups` equal column groups, each with its own absmax scale
// (eq. 15). So every group is what one of `groups` shards holding only that slice computes,
// without communication. groups = 1 is the two functions above, bit for bit.
void bitlinear_quantize_weight_groups(WeightMode mode, Mat<const float> w, Mat<float> w_q, int64_t groups);
void bitlinear_quantize_input_groups(WeightMode mode, Mat<const float> x, Mat<float> x_q, int64_t groups,
                                     ThreadPool& pool);
// y = x_q w_q^T. The STE backward (gradients pass straight through both quantizers):
// dx += dy w_q, dw += dy^T x_q — the quantized values, as torch's autograd of Fig. 11 computes.
inline void bitlinear_forward(Mat<const float> x_q, Mat<const float> w_q, Mat<float> y,
                              ThreadPool& pool) {
  matmul_forward(x_q, w_q, y, pool);
}
// kBf16: matmul_backward_input_bf16 / matmul_backward_weight_bf16 above. fp32 accumulation either way.
enum class MatmulPrecision { kFp32, kBf16 };
// dx_out / dw_out: add into dx / dw, or overwrite them (MatmulOut above).
void bitlinear_backward(Mat<const float> dy, Mat<const float> x_q, Mat<const float> w_q,
                        Mat<float> dx, Mat<float> dw, ThreadPool& pool,
                        MatmulPrecision precision = MatmulPrecision::kFp32,
                        MatmulOut dx_out = MatmulOut::kAdd, MatmulOut dw_out = MatmulOut::kAdd);

// b1.58 through quant/'s int8 x ternary GEMM (003 Fig. 12): the same y = x_q w_q^T, with the
// products summed exactly in int32 and scaled once, y = sum(q_x q_w) * beta / s_x.
// bitlinear_pack_ternary quantizes w once (eq. 3-5) into the packed matrix and writes the
// dequantized w_q the backward multiplies with (dx += dy w_q).
TernaryMatrix bitlinear_pack_ternary(Mat<const float> w, Mat<float> w_q);
// bitlinear_quantize_input (b1.58/b1) that also keeps the int8 codes, scales and code sums
// ternary_matmul reads.
void bitlinear_quantize_input_int8(Mat<const float> x, Mat<float> x_q, QuantizedActivations& xi,
                                   ThreadPool& pool);

}  // namespace bitlm
