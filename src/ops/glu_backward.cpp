// ops/glu_backward.cpp — gated FFN backward, elementwise over (T, F); out = act(gate) * up.
// SwiGLU: silu'(g) = sigma(g) * (1 + g * (1 - sigma(g))).  ReLU^2: d relu(g)^2 = 2 relu(g).
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "ops/ops.h"
#include "ops/ops_backward.h"
#include "ops/train_softmax.h"

namespace bitlm {
namespace {

// act_and_grad(g) -> {act(g), act'(g)}
template <typename ActAndGrad>
void glu_backward(Mat<const float> dout, Mat<const float> gate, Mat<const float> up,
                  Mat<float> dgate, Mat<float> dup, ActAndGrad act_and_grad) {
  BITLM_ASSERT(gate.rows == up.rows && gate.cols == up.cols && dout.rows == gate.rows &&
               dout.cols == gate.cols && dgate.rows == gate.rows && dgate.cols == gate.cols &&
               dup.rows == gate.rows && dup.cols == gate.cols);
  for (int64_t t = 0; t < gate.rows; ++t) {
    const float *d = dout.row_ptr(t), *g = gate.row_ptr(t), *u = up.row_ptr(t);
    float *dg = dgate.row_ptr(t), *du = dup.row_ptr(t);
    for (int64_t i = 0; i < gate.cols; ++i) {
      const auto [a, da] = act_and_grad(g[i]);
      dg[i] = d[i] * u[i] * da;
      du[i] = d[i] * a;
    }
  }
}

struct ActGrad { float act, grad; };

}  // namespace

// One exp per element, e = exp(-|g|) <= 1 (train_softmax.h's vectorized exp, whose domain is
// x <= 0): sigma(g) = 1 / (1 + e) for g >= +0, e / (1 + e) below; silu(g) = g sigma(g).
void swiglu_backward(Mat<const float> dout, Mat<const float> gate, Mat<const float> up,
                     Mat<float> dgate, Mat<float> dup) {
  BITLM_ASSERT(gate.rows == up.rows && gate.cols == up.cols && dout.rows == gate.rows &&
               dout.cols == gate.cols && dgate.rows == gate.rows && dgate.cols == gate.cols &&
               dup.rows == gate.rows && dup.cols == gate.cols);
  std::vector<float> e(static_cast<size_t>(gate.cols));
  for (int64_t t = 0; t < gate.rows; ++t) {
    const float *d = dout.row_ptr(t), *g = gate.row_ptr(t), *u = up.row_ptr(t);
    float *dg = dgate.row_ptr(t), *du = dup.row_ptr(t);
    for (int64_t i = 0; i < gate.cols; ++i) e[size_t(i)] = -std::fabs(g[i]);
    exp_inplace(e.data(), gate.cols);
    for (int64_t i = 0; i < gate.cols; ++i) {
      const float inv = 1.0f / (1.0f + e[size_t(i)]);
      // numerator e where g's sign bit is set, else 1: integer masks, which GCC vectorizes
      // (it leaves the equivalent float select as a branch).
      const int32_t neg = std::bit_cast<int32_t>(g[i]) >> 31;
      const float num = std::bit_cast<float>((std::bit_cast<int32_t>(e[size_t(i)]) & neg) |
                                             (std::bit_cast<int32_t>(1.0f) & ~neg));
      const float sig = num * inv;
      dg[i] = d[i] * u[i] * (sig * (1.0f + g[i] * (1.0f - sig)));
      du[i] = d[i] * (g[i] * sig);
    }
  }
}

void relu2_glu_backward(Mat<const float> dout, Mat<const float> gate, Mat<const float> up,
                        Mat<float> dgate, Mat<float> dup) {
  glu_backward(dout, gate, up, dgate, dup, [](float g) {
    return g > 0.0f ? ActGrad{g * g, 2.0f * g} : ActGrad{0.0f, 0.0f};
  });
}

}  // namespace bitlm
