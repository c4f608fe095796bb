// ops/exp_lanes.cpp — see exp_lanes.h.
#include "ops/exp_lanes.h"

#include <algorithm>
#include <bit>
#include <vector>

#include "core/cpu.h"

namespace bitlm {
namespace {

constexpr ExpKernels kRef = {"ref", exp_inplace_ref};
#if defined(__x86_64__) || defined(_M_X64)
constexpr ExpKernels kAvx512 = {"avx512", exp_inplace_avx512};
#endif

const std::vector<const ExpKernels*>& runnable() {
  static const auto k = runnable_tables<ExpKernels>({&kRef, BITLM_X86(&kAvx512)});
  return k;
}

}  // namespace

float exp_poly(float x) {
  constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  constexpr float kMin = -87.3f;         // 2^n stays a normal float above it
  const float xc = std::max(x, kMin);
  const float n = (xc * kLog2e + kRound) - kRound;
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return x < kMin ? 0.0f : p * std::bit_cast<float>((int32_t(n) + 127) << 23);
}

void exp_inplace_ref(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = exp_poly(x[i]);
}

std::span<const ExpKernels* const> runnable_exp_kernels() { return runnable(); }

void exp_inplace(float* x, int64_t n) {
  static const ExpKernels& k = select_kernels<ExpKernels>(runnable());
  k.exp_inplace(x, n);
}

float max_lanes(const float* x, int64_t n) {
  float lane[8];
  std::fill(lane, lane + 8, x[0]);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
  for (; i < n; ++i) lane[0] = std::max(lane[0], x[i]);
  return *std::max_element(lane, lane + 8);
}

double sum_lanes(const float* x, int64_t n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lane[j] += double(x[i + j]);
  double sum = 0;
  for (; i < n; ++i) sum += double(x[i]);
  for (int j = 0; j < 8; ++j) sum += lane[j];
  return sum;
}

void softmax_scaled_row(float* p, int64_t n, float scale) {
  for (int64_t j = 0; j < n; ++j) p[j] *= scale;
  const float m = max_lanes(p, n);
  for (int64_t j = 0; j < n; ++j) p[j] -= m;
  exp_inplace(p, n);
  const float inv = float(1.0 / sum_lanes(p, n));
  for (int64_t j = 0; j < n; ++j) p[j] *= inv;
}

double dot_lanes(const float* a, const float* b, int64_t n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lane[j] += double(a[i + j]) * double(b[i + j]);
  double sum = 0;
  for (; i < n; ++i) sum += double(a[i]) * double(b[i]);
  for (int j = 0; j < 8; ++j) sum += lane[j];
  return sum;
}

}  // namespace bitlm
