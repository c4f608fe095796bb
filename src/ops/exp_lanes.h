// ops/exp_lanes.h — a vectorized float exp and fixed-lane row sums: the training attention's row
// softmax, the cross-entropy's and SwiGLU backward's pieces (was train_softmax.h). glibc's
// scalar exp/expf and serial double sums were ~8% + ~4% of a training step; here exp runs 16
// lanes wide where the CPU has AVX-512.
// exp_poly is Cephes' expf (x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial, then * 2^n): within
// 2 ulp of exp on [-87.3, 0], 0 below (a softmax only sees x - max <= 0). Sums run in 8 fixed
// lanes (as matmul.cpp's dot_ref), so each result is one fixed sequence of float operations,
// independent of the thread count. The ISA is chosen once (BITLM_ISA overrides, core/cpu.h); the
// AVX-512 exp may differ from the plain one by FMA rounding, both within the 2 ulp.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace bitlm {

float exp_poly(float x);

struct ExpKernels {
  std::string_view isa;
  void (*exp_inplace)(float* x, int64_t n);  // x[i] <- exp_poly(x[i])
};
void exp_inplace_ref(float* x, int64_t n);
void exp_inplace_avx512(float* x, int64_t n);
std::span<const ExpKernels* const> runnable_exp_kernels();  // ref first

void exp_inplace(float* x, int64_t n);  // the best runnable kernel
float max_lanes(const float* x, int64_t n);   // n >= 1
double sum_lanes(const float* x, int64_t n);  // in double

// p[0, n) <- softmax(scale * p[0, n)), n >= 1.
void softmax_scaled_row(float* p, int64_t n, float scale);

// sum_k a[k] b[k] over [0, n) in double, 8 fixed lanes.
double dot_lanes(const float* a, const float* b, int64_t n);

}  // namespace bitlm
