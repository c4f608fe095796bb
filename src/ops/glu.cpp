// ops/glu.cpp — gated FFN activations, elementwise over (T, F): out = act(gate) * up.
// SwiGLU (1bitLLM, Llama: silu) and squared ReLU (BitNet b1.58 2B-4T: relu(gate)^2, FORMATS.md 2a).
// out may alias gate or up.
#include "core/error.h"
#include "ops/ops.h"

namespace bitlm {
namespace {

template <typename Act>
void glu(Mat<const float> gate, Mat<const float> up, Mat<float> out, Act act) {
  BITLM_ASSERT(gate.rows == up.rows && gate.cols == up.cols);
  BITLM_ASSERT(out.rows == gate.rows && out.cols == gate.cols);
  for (int64_t t = 0; t < gate.rows; ++t) {
    const float* g = gate.row_ptr(t);
    const float* u = up.row_ptr(t);
    float* o = out.row_ptr(t);
    for (int64_t i = 0; i < gate.cols; ++i) o[i] = act(g[i]) * u[i];
  }
}

}  // namespace

void swiglu_forward(Mat<const float> gate, Mat<const float> up, Mat<float> out) {
  glu(gate, up, out, [](float v) { return silu(v); });
}

void relu2_glu_forward(Mat<const float> gate, Mat<const float> up, Mat<float> out) {
  glu(gate, up, out, [](float v) { return v > 0.0f ? v * v : 0.0f; });
}

}  // namespace bitlm
