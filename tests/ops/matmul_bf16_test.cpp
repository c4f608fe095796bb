// tests/ops/matmul_bf16_test.cpp — the bf16 BitLinear backward ("matmul_precision":
// "bf16", ops/matmul_bf16.cpp): the rounding helper, every ISA's kernel bit-equal to the
// plain reference on awkward shapes, the bitlinear_backward in bf16 close to fp32 and exact on
// dx where dy is already bf16-representable (only dy is rounded), and thread-count independence.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "ops/ops_backward.h"
#include "ops/matmul_kernels.h"
#include "quant/quantize.h"

namespace bitlm {
namespace {

std::vector<float> random_floats(size_t n, uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = (float(rng.below(2000001)) / 1e6f - 1.0f) * scale;
  return v;
}

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

TEST(Bf16, RoundsToNearestEvenAndFlushesSubnormals) {
  EXPECT_EQ(to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(to_bf16(from_bf16(0x3F80) + std::ldexp(1.0f, -8)), 0x3F80);  // tie: to even (down)
  EXPECT_EQ(to_bf16(from_bf16(0x3F81) + std::ldexp(1.0f, -8)), 0x3F82);  // tie: to even (up)
  EXPECT_EQ(to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3F81);
  EXPECT_EQ(to_bf16(std::ldexp(1.0f, -130)), 0x0000);
  EXPECT_EQ(to_bf16(-std::ldexp(1.0f, -130)), 0x8000);
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(NAN))));
  for (int q = -128; q <= 127; ++q) EXPECT_EQ(from_bf16(to_bf16(float(q))), float(q));  // int8 codes exact
}

std::vector<uint32_t> random_pairs(size_t n, uint64_t seed) {
  const auto f = random_floats(2 * n, seed);
  std::vector<uint32_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = uint32_t(to_bf16(f[2 * i])) | uint32_t(to_bf16(f[2 * i + 1])) << 16;
  return p;
}

std::string isa_name(const testing::TestParamInfo<const TrainBf16Kernels*>& p) { return std::string(p.param->isa); }

class Bf16MatmulKernelTest : public testing::TestWithParam<const TrainBf16Kernels*> {};

// Exact equality with the plain twin over tails of every tile and vector width, in split row and
// pair ranges (the kernel is called per thread block and per pair block).
TEST_P(Bf16MatmulKernelTest, BitEqualToTheReferenceInAnySplit) {
  struct Shape { int64_t R, P, K; };
  for (const Shape s : {Shape{1, 1, 1}, {3, 5, 7}, {7, 9, 17}, {13, 300, 33}, {6, 40, 64}, {11, 129, 130}, {25, 20, 32}}) {
    const auto a = random_pairs(size_t(s.R * s.P), uint64_t(s.R * 31 + s.P));
    const auto b = random_pairs(size_t(s.P * s.K), uint64_t(s.K + 5));
    const auto c0 = random_floats(size_t(s.R * s.K), 77);
    auto want = c0, got = c0;
    matmul_acc_bf16_ref(a.data(), s.P, b.data(), s.K, want.data(), s.K, 0, s.R, 0, s.P, s.K);
    const int64_t rm = s.R / 2, pm = s.P / 3;
    for (auto [r0, r1] : {std::pair{int64_t(0), rm}, std::pair{rm, s.R}}) {
      GetParam()->acc(a.data(), s.P, b.data(), s.K, got.data(), s.K, r0, r1, 0, pm, s.K);
      GetParam()->acc(a.data(), s.P, b.data(), s.K, got.data(), s.K, r0, r1, pm, s.P, s.K);
    }
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(bits(got[i]), bits(want[i])) << GetParam()->isa << " R" << s.R << " P" << s.P << " K" << s.K << " @" << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, Bf16MatmulKernelTest, testing::ValuesIn(runnable_train_bf16_kernels()), isa_name);

// A BitLinear with ternary weights and int8 activations as the trainer quantizes them.
struct Case {
  int64_t T = 37, N = 45, K = 70;
  std::vector<float> dy, x_q, w_q;
  Case() {
    dy = random_floats(size_t(T * N), 1, 0.01f);
    w_q.resize(size_t(N * K));
    bitlinear_quantize_weight(WeightMode::kTernary, Mat<const float>(random_floats(size_t(N * K), 2).data(), N, K),
                              Mat<float>(w_q.data(), N, K));
    x_q.resize(size_t(T * K));
    ThreadPool pool(1);
    const auto x = random_floats(size_t(T * K), 3, 4.0f);
    bitlinear_quantize_input(WeightMode::kTernary, Mat<const float>(x.data(), T, K), Mat<float>(x_q.data(), T, K), pool);
  }
  void run(MatmulPrecision p, std::vector<float>& dx, std::vector<float>& dw, int threads) const {
    ThreadPool pool(threads);
    dx.assign(size_t(T * K), 0.5f);
    dw.assign(size_t(N * K), -0.25f);
    bitlinear_backward(Mat<const float>(dy.data(), T, N), Mat<const float>(x_q.data(), T, K),
                       Mat<const float>(w_q.data(), N, K), Mat<float>(dx.data(), T, K), Mat<float>(dw.data(), N, K),
                       pool, p);
  }
};

TEST(BitLinearBackwardBf16, WithinBf16RoundingOfDyFromFp32) {
  const Case c;
  std::vector<float> dx32, dw32, dx16, dw16;
  c.run(MatmulPrecision::kFp32, dx32, dw32, 1);
  c.run(MatmulPrecision::kBf16, dx16, dw16, 1);
  // Each product moves by at most 2^-9 relative (dy's rounding): bound by the sum of |products|.
  for (int64_t t = 0; t < c.T; ++t)
    for (int64_t k = 0; k < c.K; ++k) {
      double mag = 0;
      for (int64_t n = 0; n < c.N; ++n) mag += std::fabs(double(c.dy[t * c.N + n]) * c.w_q[n * c.K + k]);
      EXPECT_NEAR(dx16[t * c.K + k], dx32[t * c.K + k], mag * 0x1p-9 + 1e-6) << t << "," << k;
    }
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t k = 0; k < c.K; ++k) {
      double mag = 0;
      for (int64_t t = 0; t < c.T; ++t) mag += std::fabs(double(c.dy[t * c.N + n]) * c.x_q[t * c.K + k]);
      EXPECT_NEAR(dw16[n * c.K + k], dw32[n * c.K + k], mag * 0x1p-9 + 1e-6) << n << "," << k;
    }
}

// With dy * beta already bf16 (a power-of-two beta keeps it so), nothing is rounded: dx equals a
// float64 sum to fp32 rounding — the ternary weights did reach the kernel exactly.
TEST(BitLinearBackwardBf16, TernaryWeightsAreExactInBf16) {
  Case c;
  for (auto& w : c.w_q) w = w > 0 ? 0.25f : w < 0 ? -0.25f : 0.0f;
  for (auto& d : c.dy) d = from_bf16(to_bf16(d));
  std::vector<float> dx, dw;
  c.run(MatmulPrecision::kBf16, dx, dw, 1);
  for (int64_t t = 0; t < c.T; ++t)
    for (int64_t k = 0; k < c.K; ++k) {
      double ref = 0.5;
      for (int64_t n = 0; n < c.N; ++n) ref += double(c.dy[t * c.N + n]) * c.w_q[n * c.K + k];
      EXPECT_NEAR(dx[t * c.K + k], ref, 1e-6) << t << "," << k;
    }
}

TEST(BitLinearBackwardBf16, ThreadCountDoesNotChangeResults) {
  const Case c;
  std::vector<float> dx1, dw1, dx, dw;
  c.run(MatmulPrecision::kBf16, dx1, dw1, 1);
  for (int threads : {2, 3}) {
    c.run(MatmulPrecision::kBf16, dx, dw, threads);
    for (size_t i = 0; i < dx.size(); ++i) ASSERT_EQ(bits(dx[i]), bits(dx1[i])) << threads << " dx " << i;
    for (size_t i = 0; i < dw.size(); ++i) ASSERT_EQ(bits(dw[i]), bits(dw1[i])) << threads << " dw " << i;
  }
}

}  // namespace
}  // namespace bitlm
