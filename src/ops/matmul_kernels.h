// ops/matmul_kernels.h — fp32 block kernels behind ops/matmul.cpp, one set per ISA,
// chosen once (BITLM_ISA=ref|avx2|avx512 overrides, as quant/kernels.h does).
//   nt:  y[t][n]  = sum_k x[t][k] * w[n][k]            t in [0, T), n in [n0, n1)   (y = x W^T)
//   acc: c[r][k] += sum_{j in [j0, j1)} a[r*a_rs + j*a_js] * b[j][k]   r in [r0, r1), k in [0, K)
//        or, with overwrite (j1 > j0), c[r][k] = that sum: c is never read, so callers need not
//        zero it first (the sum starts from +0 either way: the same bits as zeroing c, then adding)
// Equality contract: every output element is computed by the same sequence of float operations
// whatever tile or row range it falls in (vector lanes are independent, tails are masked into the
// same accumulators), so results do not depend on how callers split the work across threads.
// Different ISAs may differ by rounding (FMA, lane-wise partial sums); tests bound that.
// bf16 acc (the BitLinear backward under "matmul_precision": "bf16"): a and b hold bf16 pairs,
// one uint32 each (low half: the even index), the operand layout of AVX-512 BF16 vdpbf16ps:
//   c[r][k] += sum_{p in [p0, p1)} a[r*lda + p] . b[p*ldb + k]
// with c . = (c + a.hi * b.hi) + a.lo * b.lo in fp32: the products of two bf16 are exact, so two
// round-to-nearest adds, denormals flushed (the instruction's DAZ/FTZ). Every ISA gives the
// same bits, in every split.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace bitlm {

using MatmulNt = void (*)(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y,
                          int64_t ldy, int64_t T, int64_t n0, int64_t n1, int64_t K);
using MatmulAcc = void (*)(const float* a, int64_t a_rs, int64_t a_js, const float* b, int64_t ldb,
                           float* c, int64_t ldc, int64_t r0, int64_t r1, int64_t j0, int64_t j1,
                           int64_t K, bool overwrite);
// dst[c * rows + t] = src[t * lds + c] for t in [0, rows), c in [0, cols): dst = src^T, exact.
using MatmulTranspose = void (*)(const float* src, int64_t lds, int64_t rows, int64_t cols, float* dst);

using MatmulAccBf16 = void (*)(const uint32_t* a, int64_t lda, const uint32_t* b, int64_t ldb,
                               float* c, int64_t ldc, int64_t r0, int64_t r1, int64_t p0,
                               int64_t p1, int64_t K);

struct CpuFeatures;

struct TrainBf16Kernels {
  std::string_view isa;
  MatmulAccBf16 acc;
  bool (*also_needs)(const CpuFeatures&) = nullptr;  // beyond `isa` (runnable_tables)
};

struct TrainMatmulKernels {
  std::string_view isa;
  MatmulNt nt;
  MatmulAcc acc;
  MatmulTranspose transpose;
};

const TrainMatmulKernels& best_train_matmul_kernels();
std::span<const TrainMatmulKernels* const> runnable_train_matmul_kernels();  // ref first

const TrainBf16Kernels& best_train_bf16_kernels();
std::span<const TrainBf16Kernels* const> runnable_train_bf16_kernels();  // ref first

// fp32 -> bf16, round to nearest even; subnormals flush to signed zero (as vdpbf16ps reads them).
uint16_t to_bf16(float x);
float from_bf16(uint16_t h);

void matmul_acc_bf16_ref(const uint32_t*, int64_t, const uint32_t*, int64_t, float*, int64_t,
                         int64_t, int64_t, int64_t, int64_t, int64_t);
void matmul_acc_bf16_avx512(const uint32_t*, int64_t, const uint32_t*, int64_t, float*, int64_t,
                            int64_t, int64_t, int64_t, int64_t, int64_t);

void matmul_nt_ref(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t, int64_t,
                   int64_t, int64_t);
void matmul_acc_ref(const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t, int64_t,
                    int64_t, int64_t, int64_t, int64_t, bool);
void transpose_ref(const float*, int64_t, int64_t, int64_t, float*);
void transpose_avx512(const float*, int64_t, int64_t, int64_t, float*);
void matmul_nt_avx2(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t, int64_t,
                    int64_t, int64_t);
void matmul_acc_avx2(const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t, int64_t,
                     int64_t, int64_t, int64_t, int64_t, bool);
void matmul_nt_avx512(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t,
                      int64_t, int64_t, int64_t);
void matmul_acc_avx512(const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t,
                       int64_t, int64_t, int64_t, int64_t, int64_t, bool);

}  // namespace bitlm
