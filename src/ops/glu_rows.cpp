// ops/glu_rows.cpp — the reference row (relu2_glu_forward itself, the one definition of the math)
// and the ISA dispatch of glu_rows.h.
#include "ops/glu_rows.h"

#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "ops/ops.h"

namespace bitlm {

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
