// ops/glu_backward.cpp — gated FFN backward, elementwise over (T, F); out = act(gate) * up.
// SwiGLU: silu'(g) = sigma(g) * (1 + g * (1 - sigma(g))).  ReLU^2: d relu(g)^2 = 2 relu(g).
#include <cmath>

#include "core/error.h"
#include "ops/ops.h"
#include "ops/ops_backward.h"

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
      dg[i] += d[i] * u[i] * da;
      du[i] += d[i] * a;
    }
  }
}

struct ActGrad { float act, grad; };

}  // namespace

void swiglu_backward(Mat<const float> dout, Mat<const float> gate, Mat<const float> up,
                     Mat<float> dgate, Mat<float> dup) {
  glu_backward(dout, gate, up, dgate, dup, [](float g) {
    const float sig = 1.0f / (1.0f + std::exp(-g));
    return ActGrad{silu(g), sig * (1.0f + g * (1.0f - sig))};
  });
}

void relu2_glu_backward(Mat<const float> dout, Mat<const float> gate, Mat<const float> up,
                        Mat<float> dgate, Mat<float> dup) {
  glu_backward(dout, gate, up, dgate, dup, [](float g) {
    return g > 0.0f ? ActGrad{g * g, 2.0f * g} : ActGrad{0.0f, 0.0f};
  });
}

}  // namespace bitlm
