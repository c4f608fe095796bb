// quant/act_rows.h — the per-token activation quantizer of every BitLinear input (003 eq. 6-7),
// over a batch of rows, with or without the RMSNorm before it fused in (003 Fig. 12: a norm feeds
// every BitLinear). The inference forward calls these between its matmuls, on each thread's tokens.
//
// Contract: every ISA writes exactly what the ref writes, which is quantize.h's per-token
// quantize_absmax_int8 / rms_norm_quantize_int8 (the one definition of the math): same scale
// floats, same int8, same sums. Only columns [0, n) of each q row are written.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace bitlm {

// T rows of n floats (x, stride x_stride) to T rows of int8 (q, stride q_stride); scale[t] = the
// 127 / gamma of quantize_absmax_int8, sum[t] = the sum of row t's q.
struct ActRows {
  const float* x;
  int64_t x_stride, T, n;
  int8_t* q;
  int64_t q_stride;
  float* scale;
  int32_t* sum;
};

struct ActRowKernels {
  std::string_view isa;
  void (*quantize)(const ActRows& rows);
  // Quant(RMSNorm(x) with gain g (n floats)), what rms_norm_quantize_int8 returns per row.
  void (*rms_norm_quantize)(const ActRows& rows, const float* g, float eps);
};

// The best runnable ISA (BITLM_ISA overrides, as for quant/kernels.h's kernels).
const ActRowKernels& best_act_row_kernels();
// Every ISA this CPU can run, ref first (tests).
std::span<const ActRowKernels* const> runnable_act_row_kernels();

// rstd[t] = 1/sqrt(mean(x_t^2) + eps) of each row, exactly ops/rms_norm's float (the double sum
// of squares in index order). Rows go in groups of 8 whose 8 independent sums interleave, so the
// CPU overlaps their add latencies: the same roundings, several times the speed of one row at a time.
void rms_rstd_rows(const float* x, int64_t x_stride, int64_t T, int64_t n, float eps, float* rstd);

// The row loops every SIMD variant shares, around its one-row kernel
// `float quantize_row(const float* x, const float* g, float rstd, int64_t n, int8_t* q, int32_t* sum)`
// (g == nullptr: no norm; returns the scale): plain code, so the per-ISA files keep only intrinsics.
template <class QuantizeRow>
void act_rows_quantize_with(const ActRows& r, QuantizeRow quantize_row) {
  for (int64_t t = 0; t < r.T; ++t)
    r.scale[t] = quantize_row(r.x + t * r.x_stride, nullptr, 1.0f, r.n, r.q + t * r.q_stride, &r.sum[t]);
}
template <class QuantizeRow>
void act_rows_rms_norm_quantize_with(const ActRows& r, const float* g, float eps, QuantizeRow quantize_row) {
  constexpr int64_t kGroup = 8;  // rms_rstd_rows' group
  float rstd[kGroup];
  for (int64_t t0 = 0; t0 < r.T; t0 += kGroup) {
    const int64_t nt = r.T - t0 < kGroup ? r.T - t0 : kGroup;
    rms_rstd_rows(r.x + t0 * r.x_stride, r.x_stride, nt, r.n, eps, rstd);
    for (int64_t j = 0; j < nt; ++j) {
      const int64_t t = t0 + j;
      r.scale[t] = quantize_row(r.x + t * r.x_stride, g, rstd[j], r.n, r.q + t * r.q_stride, &r.sum[t]);
    }
  }
}

void act_rows_quantize_ref(const ActRows& rows);
void act_rows_rms_norm_quantize_ref(const ActRows& rows, const float* g, float eps);
void act_rows_quantize_avx2(const ActRows& rows);
void act_rows_rms_norm_quantize_avx2(const ActRows& rows, const float* g, float eps);
void act_rows_quantize_avx512(const ActRows& rows);
void act_rows_rms_norm_quantize_avx512(const ActRows& rows, const float* g, float eps);

}  // namespace bitlm
