// quant/act_rows.cpp — the reference row quantizers of act_rows.h, the exact RMSNorm rstd shared
// by the SIMD variants, and the ISA dispatch.
#include "quant/act_rows.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu.h"
#include "quant/quantize.h"

namespace bitlm {

void rms_rstd_rows(const float* x, int64_t x_stride, int64_t T, int64_t n, float eps, float* rstd) {
  constexpr int64_t kGroup = 8;
  for (int64_t t0 = 0; t0 < T; t0 += kGroup) {
    const int64_t nt = std::min(kGroup, T - t0);
    double sum_sq[kGroup] = {};
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < nt; ++j) {
        const double v = x[(t0 + j) * x_stride + i];
        sum_sq[j] += v * v;  // ops/rms_norm's double(x) * x, added in index order
      }
    for (int64_t j = 0; j < nt; ++j)
      rstd[t0 + j] = float(1.0 / std::sqrt(sum_sq[j] / double(n) + double(eps)));
  }
}

void act_rows_quantize_ref(const ActRows& r) {
  for (int64_t t = 0; t < r.T; ++t) {
    int8_t* q = r.q + t * r.q_stride;
    r.scale[t] = quantize_absmax_int8({r.x + t * r.x_stride, size_t(r.n)}, {q, size_t(r.n)});
    int32_t sum = 0;
    for (int64_t i = 0; i < r.n; ++i) sum += q[i];
    r.sum[t] = sum;
  }
}

void act_rows_rms_norm_quantize_ref(const ActRows& r, const float* g, float eps) {
  for (int64_t t = 0; t < r.T; ++t)
    r.scale[t] = rms_norm_quantize_int8({r.x + t * r.x_stride, size_t(r.n)}, {g, size_t(r.n)}, eps,
                                        {r.q + t * r.q_stride, size_t(r.n)}, &r.sum[t]);
}

namespace {

constexpr ActRowKernels kRef = {"ref", act_rows_quantize_ref, act_rows_rms_norm_quantize_ref};
#if defined(__x86_64__) || defined(_M_X64)
constexpr ActRowKernels kAvx2 = {"avx2", act_rows_quantize_avx2, act_rows_rms_norm_quantize_avx2};
constexpr ActRowKernels kAvx512 = {"avx512", act_rows_quantize_avx512, act_rows_rms_norm_quantize_avx512};
#endif

const std::vector<const ActRowKernels*>& runnable() {
  static const auto k = runnable_tables<ActRowKernels>({&kRef, BITLM_X86(&kAvx2, &kAvx512)});
  return k;
}

}  // namespace

const ActRowKernels& best_act_row_kernels() {
  static const ActRowKernels& k = select_kernels<ActRowKernels>(runnable());
  return k;
}

std::span<const ActRowKernels* const> runnable_act_row_kernels() { return runnable(); }

}  // namespace bitlm
