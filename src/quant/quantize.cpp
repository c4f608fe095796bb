// quant/quantize.cpp — the BitNet quantizers of quantize.h (paper 003 section 2.1, App. A.1, D, E).
// Weights and activations are plain row-major float spans; outputs are int8 spans of equal size.
// Rounding is std::nearbyint's under the default mode (round half to even, as torch.round does),
// computed without the libm call (round_half_even).
// Means over whole matrices accumulate in double (a 2560x6912 matrix sums 17.7M terms).
#include "quant/quantize.h"

#include <algorithm>
#include <cmath>

#include "core/checked.h"
#include "core/error.h"

namespace bitlm {
namespace {

double mean_abs(std::span<const float> w) {
  double sum = 0;
  for (float v : w) sum += std::fabs(double(v));
  return sum / double(w.size());
}

// std::nearbyint of |v| <= 2^22: adding 1.5 * 2^23 leaves no fraction bits, so the add rounds
// half to even (the default mode) and the subtract is exact. The baseline x86-64 build has no
// round instruction: nearbyint was a libm call per value (most of the weight quantizer's time).
inline float round_half_even(float v) {
  constexpr float kShift = 12582912.0f;
  return (v + kShift) - kShift;
}

// clamp(round(v)) == round(clamp(v)) for the integer bounds used here (rounding is monotonic),
// and clamping first keeps round_half_even's argument small; a NaN (activations of a model that
// overflowed or holds NaN) becomes lo, a defined conversion.
int8_t round_clip_one(float v, float lo, float hi) {
  return int8_t(round_half_even(clamp_nan_low(v, lo, hi)));
}

// restrict parameters: an int8_t store may alias the floats, which kept GCC from vectorizing the
// loop (it was a scalar clamp that branched on every random weight sign). noipa: GCC 12 vectorizes
// the generic loop but not a copy specialised to the callers' constant bounds.
[[gnu::noipa]] void round_clip(const float* __restrict x, size_t n, float scale, float lo, float hi,
                int8_t* __restrict q) {
  for (size_t i = 0; i < n; ++i)  // x * scale in float: Fig. 11 multiplies by the reciprocal
    q[i] = round_clip_one(x[i] * scale, lo, hi);
}

}  // namespace

// 003 eq. 3-5 in the Fig. 11 form: scale = 1 / max(mean|W|, 1e-5) (eq. 3 writes beta + eps; the
// appendix code, which produced the checkpoints we load, clamps). An all-zero W gives q = 0.
float quantize_absmean(std::span<const float> w, std::span<int8_t> q) {
  BITLM_ASSERT(q.size() == w.size() && !w.empty());
  const float beta = std::max(float(mean_abs(w)), kQuantEps);
  round_clip(w.data(), w.size(), 1.0f / beta, -1.0f, 1.0f, q.data());
  return beta;  // applied after the integer matmul (eq. 9), never folded into the weights
}

// 003 eq. 1-2: centre by alpha = mean W, then Sign with Sign(0) = -1 (eq. 2: "<= 0" maps to -1).
// beta = mean|W| of the uncentred W (eq. 9: "beta is ||W||_1/nm for both b1 and b1.58").
SignQuant quantize_sign(std::span<const float> w, std::span<int8_t> q) {
  BITLM_ASSERT(q.size() == w.size() && !w.empty());
  double sum = 0;
  for (float v : w) sum += double(v);
  const float alpha = float(sum / double(w.size()));
  for (size_t i = 0; i < w.size(); ++i) q[i] = (w[i] - alpha) > 0.0f ? int8_t(1) : int8_t(-1);
  return {alpha, float(mean_abs(w))};
}

// 003 eq. 6-7 in the Fig. 11/12 form: s = 127 / max(max|x|, 1e-5); q = RoundClip(x*s, -128, 127).
// Qn = -128 is never reached by rounding (|x*s| <= 127) but is the clip bound the paper states.
float quantize_absmax_int8(std::span<const float> x, std::span<int8_t> q) {
  BITLM_ASSERT(q.size() == x.size());
  float gamma = 0;
  for (float v : x) gamma = std::max(gamma, std::fabs(v));
  const float s = float(kActQp) / std::max(gamma, kQuantEps);
  round_clip(x.data(), x.size(), s, float(kActQn), float(kActQp), q.data());
  return s;
}

// x_hat = alpha * clip(round(x / alpha), -Qp, Qp) (BiT's elastic function, LSQ eq. 1), x / alpha
// taken as x * (1/alpha) like eq. 6's x * s. alpha is clamped to eps so that a step that drives it
// to <= 0 cannot divide by zero.
float elastic_scale(float alpha) { return 1.0f / std::max(alpha, kQuantEps); }

float quantize_elastic_int8(std::span<const float> x, float alpha, std::span<int8_t> q, int32_t* q_sum) {
  BITLM_ASSERT(q.size() == x.size());
  const float s = elastic_scale(alpha);
  round_clip(x.data(), x.size(), s, -float(kActElasticQp), float(kActElasticQp), q.data());
  if (q_sum) {
    int32_t sum = 0;
    for (int8_t v : q) sum += v;
    *q_sum = sum;
  }
  return s;
}

float rms_norm_quantize_int8(std::span<const float> x, std::span<const float> g, float eps,
                             std::span<int8_t> q, int32_t* q_sum) {
  BITLM_ASSERT(g.size() == x.size() && q.size() == x.size() && !x.empty());
  double sum_sq = 0;
  for (float v : x) sum_sq += double(v) * v;
  const float r = float(1.0 / std::sqrt(sum_sq / double(x.size()) + double(eps)));
  float gamma = 0;  // eq. 7 on the normalized values, recomputed rather than stored
  for (size_t i = 0; i < x.size(); ++i) gamma = std::max(gamma, std::fabs(x[i] * r * g[i]));
  const float s = float(kActQp) / std::max(gamma, kQuantEps);
  int32_t sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    q[i] = round_clip_one(x[i] * r * g[i] * s, float(kActQn), float(kActQp));
    sum += q[i];
  }
  if (q_sum) *q_sum = sum;
  return s;
}

// 003 eq. 14: W split into n_groups row groups, each with its own absmean beta_g.
void quantize_absmean_groups(std::span<const float> w, int64_t rows, int64_t cols, int64_t n_groups,
                             std::span<int8_t> q, std::span<float> betas) {
  BITLM_CHECK(n_groups >= 1 && rows % n_groups == 0,
              "group quantization: {} rows do not split into {} groups", rows, n_groups);
  BITLM_ASSERT(int64_t(w.size()) == rows * cols && q.size() == w.size() &&
               int64_t(betas.size()) == n_groups);
  const size_t group = size_t(rows / n_groups * cols);
  for (int64_t g = 0; g < n_groups; ++g)
    betas[size_t(g)] = quantize_absmean(w.subspan(size_t(g) * group, group),
                                        q.subspan(size_t(g) * group, group));
}

// 003 eq. 15: one absmax scale per contiguous group of the activation vector.
void quantize_absmax_int8_groups(std::span<const float> x, int64_t n_groups, std::span<int8_t> q,
                                 std::span<float> scales) {
  BITLM_CHECK(n_groups >= 1 && int64_t(x.size()) % n_groups == 0,
              "group quantization: {} activations do not split into {} groups", x.size(), n_groups);
  BITLM_ASSERT(q.size() == x.size() && int64_t(scales.size()) == n_groups);
  const size_t group = x.size() / size_t(n_groups);
  for (int64_t g = 0; g < n_groups; ++g)
    scales[size_t(g)] = quantize_absmax_int8(x.subspan(size_t(g) * group, group),
                                             q.subspan(size_t(g) * group, group));
}

}  // namespace bitlm
