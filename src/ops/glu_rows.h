// ops/glu_rows.h — the squared-ReLU GLU of the inference FFN (out = relu(gate)^2 * up, BitNet
// b1.58 2B-4T) on the best ISA: exactly relu2_glu_forward's floats (ops.h), which the compiler
// leaves as a scalar loop with a branch on every sign (its select is control flow to GCC).
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "core/mat.h"

namespace bitlm {

struct GluRowKernels {
  std::string_view isa;
  void (*relu2_glu)(const float* gate, const float* up, float* out, int64_t n);  // out may alias gate or up
};

// The best runnable ISA (BITLM_ISA overrides); every ISA this CPU runs, ref first (tests).
const GluRowKernels& best_glu_row_kernels();
std::span<const GluRowKernels* const> runnable_glu_row_kernels();

// relu2_glu_forward on the best ISA.
void relu2_glu_rows(Mat<const float> gate, Mat<const float> up, Mat<float> out);

void relu2_glu_row_ref(const float* gate, const float* up, float* out, int64_t n);
void relu2_glu_row_avx2(const float* gate, const float* up, float* out, int64_t n);
void relu2_glu_row_avx512(const float* gate, const float* up, float* out, int64_t n);

}  // namespace bitlm
