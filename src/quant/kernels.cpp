// quant/kernels.cpp — the ISA dispatch table of quant/kernels.h, chosen once from cpu_features();
// BITLM_ISA=ref|avx2|avx512|neon overrides (for A/B runs and for reproducing a bug on one path).
#include <cstdlib>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "quant/kernels.h"

namespace bitlm {
namespace {

constexpr MatmulKernels kRef = {"ref", {gemv_t2_ref, gemm_t2_ref, gemm_t2_f32_ref},
                                {gemv_t1_ref, gemm_t1_ref, gemm_t1_f32_ref}, dot_f32_ref,
                                dot_f16_ref, dot_bf16_ref, dot_q8_0_ref, dot_q6_k_ref, dot_q8_0_q8_ref,
                                dot_q6_k_q8_ref, dot_q4_0_q8_ref,
                                dot_q6_k_q8_rows_each<dot_q6_k_q8_ref>, kGgmlBitlmT2};
#if defined(__x86_64__) || defined(_M_X64)
constexpr MatmulKernels kAvx2 = {"avx2", {gemv_t2_avx2, gemm_t2_avx2, gemm_t2_f32_avx2},
                                 {gemv_t1_avx2, gemm_t1_avx2, gemm_t1_f32_ref}, dot_f32_avx2,
                                 dot_f16_avx2, dot_bf16_avx2, dot_q8_0_avx2, dot_q6_k_avx2, dot_q8_0_q8_avx2,
                                 dot_q6_k_q8_avx2, dot_q4_0_q8_avx2, dot_q6_k_q8_rows_avx2,
                                 kGgmlBitlmT2};
// The float paths have no AVX-512 variant worth its code: they stream memory, AVX2 keeps up.
constexpr MatmulKernels kAvx512 = {"avx512", {gemv_t2_avx512, gemm_t2_avx512, gemm_t2_f32_avx2},
                                   {gemv_t1_avx512, gemm_t1_avx512, gemm_t1_f32_ref}, dot_f32_avx2,
                                   dot_f16_avx2, dot_bf16_avx2, dot_q8_0_avx2, dot_q6_k_avx2, dot_q8_0_q8_avx512,
                                   dot_q6_k_q8_avx512, dot_q4_0_q8_avx2,
                                   dot_q6_k_q8_rows_each<dot_q6_k_q8_avx512>, kGgmlBitlmT1};
#endif
#if defined(__aarch64__)
constexpr MatmulKernels kNeon = {"neon", {gemv_t2_neon, gemm_t2_neon, gemm_t2_f32_ref},
                                 {gemv_t1_neon, gemm_t1_neon, gemm_t1_f32_ref}, dot_f32_ref,
                                 dot_f16_ref, dot_bf16_ref, dot_q8_0_ref, dot_q6_k_ref, dot_q8_0_q8_neon,
                                 dot_q6_k_q8_neon, dot_q4_0_q8_ref,
                                 dot_q6_k_q8_rows_each<dot_q6_k_q8_neon>, kGgmlBitlmT2};
#endif

const std::vector<const MatmulKernels*>& runnable() {
  static const auto k = runnable_tables<MatmulKernels>({&kRef, BITLM_X86(&kAvx2, &kAvx512) BITLM_ARM(&kNeon)});
  return k;
}

}  // namespace

const MatmulKernels& best_kernels() {
  static const MatmulKernels& k = select_kernels<MatmulKernels>(runnable());
  return k;
}

std::span<const MatmulKernels* const> runnable_kernels() { return runnable(); }

}  // namespace bitlm
