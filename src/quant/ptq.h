// quant/ptq.h — post-training quantization of a float model's linear layers, the baselines of
// 003 Table 3 (what training in low bits is compared against). Simulated in float: each function
// returns the dequantized values, which an fp model then multiplies as they are.
//  - Absmax: weights per output row (symmetric, b bits) and activations per token (b bits),
//    003 eq. 6-7 with Qp = 2^(b-1) - 1, Qn = -2^(b-1); 1.58 and 1 bits take BitNet's own weight
//    quantizers (eq. 3-5 absmean ternary, eq. 1-2 sign, one beta per tensor) applied after training.
//  - GPTQ (Frantar et al. 2022, Algorithm 1): weight-only, per-layer Hessian H = 2/n Σ x xᵀ of the
//    layer's calibration inputs, columns quantized in order with the error of each spread over the
//    columns not yet quantized through the upper Cholesky factor of H⁻¹. Min-max asymmetric grid
//    per output row (GPTQ's default quantizer), or per group of `group_size` columns.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace bitlm {

// Each of `rows` rows of x (cols each), in place: s = Qp / max(max|x|, eps),
// x = clamp(round_half_even(x s), Qn, Qp) / s. bits in [2, 16].
void fake_quant_absmax_rows(std::span<float> x, int64_t rows, int64_t cols, int bits);

// Weights (rows = outputs, cols = inputs), in place: wbits 1.58 = absmean ternary times beta,
// 1 = sign(W - mean W) times beta (the b1.58 / b1 training quantizers), 2..16 = per-row absmax.
// UserError for another value.
void ptq_absmax_weights(std::span<float> w, int64_t rows, int64_t cols, double wbits);

struct GptqOptions {
  int bits = 4;              // 2..8
  int64_t group_size = 0;    // 0: one (scale, zero) per row; else per row and group of columns
  double damp = 0.01;        // λ = damp · mean(diag H) added to the diagonal
};

// Adds 2 xᵀx of `n` input rows (cols each) to `h_sum` (cols x cols, row-major); divide by the
// total row count at the end (gptq_hessian).
void gptq_accumulate(std::span<double> h_sum, int64_t cols, const float* x, int64_t n);

// The quantized (dequantized) weights of W (rows x cols, row-major) for the Hessian H (cols x cols).
// Columns whose diagonal is 0 (an input never active) are quantized as zero, as GPTQ does.
std::vector<float> gptq_quantize(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> h,
                                 const GptqOptions& options);

}  // namespace bitlm
