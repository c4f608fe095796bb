// ops/glu.cpp — gated FFN activations, elementwise over (T, F): out = act(gate) * up, forward,
// backward, and the inference row kernels' reference and ISA dispatch (glu_rows.h).
// SwiGLU (1bitLLM, Llama: silu) and squared ReLU (BitNet b1.58 2B-4T: relu(gate)^2, FORMATS.md 2a).
// out may alias gate or up.
// Backward: SwiGLU: silu'(g) = sigma(g) * (1 + g * (1 - sigma(g))).  ReLU^2: d relu(g)^2 = 2 relu(g).
// The reference row is relu2_glu_forward itself (the one definition of the math).
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "ops/glu_rows.h"
#include "ops/ops.h"
#include "ops/ops_backward.h"
#include "ops/exp_lanes.h"

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

// One exp per element, e = exp(-|g|) <= 1 (exp_lanes.h's vectorized exp, whose domain is
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

void relu2_glu_row_ref(const float* gate, const float* up, float* out, int64_t n) {
  relu2_glu_forward({gate, 1, n, n}, {up, 1, n, n}, {out, 1, n, n});
}

namespace {

constexpr GluRowKernels kRef = {"ref", relu2_glu_row_ref};
#if defined(__x86_64__) || defined(_M_X64)
constexpr GluRowKernels kAvx2 = {"avx2", relu2_glu_row_avx2};
constexpr GluRowKernels kAvx512 = {"avx512", relu2_glu_row_avx512};
#endif

const std::vector<const GluRowKernels*>& runnable() {
  static const auto k = runnable_tables<GluRowKernels>({&kRef, BITLM_X86(&kAvx2, &kAvx512)});
  return k;
}

}  // namespace

const GluRowKernels& best_glu_row_kernels() {
  static const GluRowKernels& k = select_kernels<GluRowKernels>(runnable());
  return k;
}

std::span<const GluRowKernels* const> runnable_glu_row_kernels() { return runnable(); }

void relu2_glu_rows(Mat<const float> gate, Mat<const float> up, Mat<float> out) {
  BITLM_ASSERT(gate.rows == up.rows && gate.cols == up.cols && out.rows == gate.rows && out.cols == gate.cols);
  const auto fn = best_glu_row_kernels().relu2_glu;
  for (int64_t t = 0; t < gate.rows; ++t) fn(gate.row_ptr(t), up.row_ptr(t), out.row_ptr(t), gate.cols);
}

}  // namespace bitlm
