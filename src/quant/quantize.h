// quant/quantize.h — the BitNet quantizers (paper ../shared/papers/003_*.txt, section 2.1 and
// Appendix A.1, D, E). Training and inference both call these: one definition of the math.
#pragma once
#include <cstdint>
#include <span>

namespace bitlm {

inline constexpr float kQuantEps = 1e-5f;  // the clamp of Fig. 11/12 (eq. 3/6 write it as +eps)
inline constexpr int kActQp = 127, kActQn = -128;

// b1.58 (eq. 3-5): beta = mean|W|; q = RoundClip(W / max(beta, eps), -1, 1). Returns beta.
float quantize_absmean(std::span<const float> w, std::span<int8_t> q);

// b1 (eq. 1-2): alpha = mean W; q = Sign(W - alpha) in {-1,+1} (0 maps to -1);
// beta = mean|W| (sec. 2.1: "beta is ||W||_1/nm for both b1 and b1.58"). Returns beta.
struct SignQuant { float alpha, beta; };
SignQuant quantize_sign(std::span<const float> w, std::span<int8_t> q);

// Per-token absmax int8 (eq. 6-7, Qp=127, Qn=-128): s = 127 / max(max|x|, eps);
// q = clamp(round_half_even(x*s), -128, 127). Returns s (divide the int32 result by it).
float quantize_absmax_int8(std::span<const float> x, std::span<int8_t> q);

// Elastic int8 (the learnable-scale activation quantizer of 003 sec. 5 / Table 9: Liu et al. 2022
// BiT's elastic function in LSQ's symmetric form): one scale alpha for a whole BitLinear input,
// learned in training and fixed at inference; s = elastic_scale(alpha) = 1 / max(alpha, eps),
// q = clamp(round_half_even(x*s), -kActElasticQp, kActElasticQp). Returns s (the int32 result is
// divided by it, as for quantize_absmax_int8); *q_sum = sum of q when q_sum is given.
inline constexpr int kActElasticQp = 127;
float elastic_scale(float alpha);
float quantize_elastic_int8(std::span<const float> x, float alpha, std::span<int8_t> q, int32_t* q_sum = nullptr);

// Fused Quant(RMSNorm(x)) for one token (003 Fig. 12 input of every BitLinear): y = x * rstd * g,
// rstd = 1/sqrt(mean(x^2) + eps) (double sum, as ops/rms_norm), then quantize_absmax_int8(y) —
// bit-identical to the two steps, without writing y. Returns the scale; *q_sum = sum of q.
float rms_norm_quantize_int8(std::span<const float> x, std::span<const float> g, float eps,
                             std::span<int8_t> q, int32_t* q_sum);

// Group quantization (eq. 14-15): the weight split into n_groups equal row groups, each with its
// own beta (absmean) — written to betas[g]. Activations: one absmax scale per group of columns.
void quantize_absmean_groups(std::span<const float> w, int64_t rows, int64_t cols,
                             int64_t n_groups, std::span<int8_t> q, std::span<float> betas);
void quantize_absmax_int8_groups(std::span<const float> x, int64_t n_groups,
                                 std::span<int8_t> q, std::span<float> scales);

}  // namespace bitlm
