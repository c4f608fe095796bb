// tests/ops/matmul_test.cpp — the fp32 training matmul kernels (ops/matmul_kernels.h):
// every ISA within float rounding of a float64 reference on awkward shapes (tails of every
// vector width), results independent of how rows are split (bit-exact), and the threaded
// matmul_forward / backward identical for 1, 2 and 3 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "ops/ops_backward.h"
#include "ops/matmul_kernels.h"

namespace bitlm {
namespace {

struct Shape { int64_t T, N, K; };
constexpr Shape kShapes[] = {{1, 1, 1}, {3, 5, 7}, {4, 4, 16}, {5, 9, 17}, {9, 13, 65}, {7, 33, 130}, {13, 6, 257}};

std::vector<float> random_floats(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.below(2001)) / 1000.0f - 1.0f;
  return v;
}

std::string isa_name(const testing::TestParamInfo<const TrainMatmulKernels*>& p) {
  return std::string(p.param->isa);
}

class MatmulKernelTest : public testing::TestWithParam<const TrainMatmulKernels*> {};

TEST_P(MatmulKernelTest, NtWithinRoundingOfFloat64) {
  for (const auto& s : kShapes) {
    const auto x = random_floats(size_t(s.T * s.K), uint64_t(s.K));
    const auto w = random_floats(size_t(s.N * s.K), uint64_t(s.N + 100));
    std::vector<float> y(size_t(s.T * s.N), -7.0f);
    GetParam()->nt(x.data(), s.K, w.data(), s.K, y.data(), s.N, s.T, 0, s.N, s.K);
    for (int64_t t = 0; t < s.T; ++t)
      for (int64_t n = 0; n < s.N; ++n) {
        double ref = 0;
        for (int64_t k = 0; k < s.K; ++k) ref += double(x[t * s.K + k]) * w[n * s.K + k];
        EXPECT_NEAR(y[t * s.N + n], ref, 1e-5 * s.K) << GetParam()->isa << " " << t << "," << n;
      }
  }
}

// c[r][k] += sum_j a[r*a_rs + j*a_js] b[j][k] with a transposed (a_rs = 1), as dW uses it.
TEST_P(MatmulKernelTest, AccWithinRoundingOfFloat64) {
  for (const auto& s : kShapes) {
    const int64_t R = s.N, J = s.T, K = s.K;
    const auto a = random_floats(size_t(J * R), uint64_t(R));
    const auto b = random_floats(size_t(J * K), uint64_t(K + 7));
    const auto c0 = random_floats(size_t(R * K), 99);
    auto c = c0;
    GetParam()->acc(a.data(), 1, R, b.data(), K, c.data(), K, 0, R, 0, J, K, false);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t k = 0; k < K; ++k) {
        double ref = c0[r * K + k];
        for (int64_t j = 0; j < J; ++j) ref += double(a[j * R + r]) * b[j * K + k];
        EXPECT_NEAR(c[r * K + k], ref, 1e-5 * (J + 1)) << GetParam()->isa << " " << r << "," << k;
      }
  }
}

TEST_P(MatmulKernelTest, SplitRowsGiveBitIdenticalResults) {
  const Shape s{11, 23, 131};
  const auto x = random_floats(size_t(s.T * s.K), 1), w = random_floats(size_t(s.N * s.K), 2);
  std::vector<float> whole(size_t(s.T * s.N)), split(whole.size());
  GetParam()->nt(x.data(), s.K, w.data(), s.K, whole.data(), s.N, s.T, 0, s.N, s.K);
  for (auto [n0, n1] : {std::pair<int64_t, int64_t>{0, 3}, {3, 10}, {10, 23}})
    GetParam()->nt(x.data(), s.K, w.data(), s.K, split.data(), s.N, s.T, n0, n1, s.K);
  EXPECT_EQ(whole, split);

  auto c_whole = random_floats(size_t(s.N * s.K), 3), c_split = c_whole;
  GetParam()->acc(w.data(), 1, s.N, x.data(), s.K, c_whole.data(), s.K, 0, s.N, 0, s.T, s.K, true);
  for (auto [r0, r1] : {std::pair<int64_t, int64_t>{0, 5}, {5, 6}, {6, 23}})
    for (auto [j0, j1] : {std::pair<int64_t, int64_t>{0, 4}, {4, 11}})  // the first overwrites
      GetParam()->acc(w.data(), 1, s.N, x.data(), s.K, c_split.data(), s.K, r0, r1, j0, j1, s.K, j0 == 0);
  EXPECT_EQ(c_whole, c_split);
}

// The SIMD acc kernels promise each c element c = fma(a_rj, b_jk, c) for j in order, whatever
// their tile shapes (6x64 or 12x32 on AVX-512), row tails and blocks over j: bit-exact against
// that scalar loop, for wide and narrow c, dX's layout (a_js = 1) and dW's (a_rs = 1), from c or,
// overwriting, from zero.
TEST_P(MatmulKernelTest, AccIsOneFmaChainPerElement) {
  if (GetParam()->isa == "ref") GTEST_SKIP() << "the plain twin multiplies and adds apart";
  for (const Shape s : {Shape{300, 23, 131}, Shape{257, 29, 32}, Shape{5, 13, 17}, Shape{140, 7, 64}})
    for (const bool transposed : {false, true})
    for (const bool overwrite : {false, true}) {
      const int64_t R = s.N, J = s.T, K = s.K;
      const int64_t a_rs = transposed ? 1 : J, a_js = transposed ? R : 1;
      const auto a = random_floats(size_t(J * R), 11), b = random_floats(size_t(J * K), 12);
      auto c = random_floats(size_t(R * K), 13), want = c;
      if (overwrite) std::ranges::fill(want, 0.0f);
      GetParam()->acc(a.data(), a_rs, a_js, b.data(), K, c.data(), K, 0, R, 0, J, K, overwrite);
      for (int64_t r = 0; r < R; ++r)
        for (int64_t k = 0; k < K; ++k)
          for (int64_t j = 0; j < J; ++j)
            want[size_t(r * K + k)] = std::fma(a[size_t(r * a_rs + j * a_js)], b[size_t(j * K + k)], want[size_t(r * K + k)]);
      EXPECT_EQ(c, want) << GetParam()->isa << " shape " << R << "x" << J << "x" << K << (transposed ? " a^T" : "")
                         << (overwrite ? " overwrite" : "");
    }
}

// dW copies dy transposed through this: exact, with 16 x 16 blocks and both edges (37 = 2 x 16 + 5
// rows, 53 = 3 x 16 + 5 columns) and a source stride wider than the copied columns.
TEST_P(MatmulKernelTest, TransposeIsExact) {
  const int64_t rows = 37, cols = 53, lds = 61;
  const auto src = random_floats(size_t(rows * lds), 21);
  for (const auto& [r, c] : {std::pair<int64_t, int64_t>{rows, cols}, {32, 48}, {5, 3}}) {
    std::vector<float> dst(size_t(r * c), -9.0f);
    GetParam()->transpose(src.data(), lds, r, c, dst.data());
    for (int64_t t = 0; t < r; ++t)
      for (int64_t k = 0; k < c; ++k)
        ASSERT_EQ(dst[size_t(k * r + t)], src[size_t(t * lds + k)]) << GetParam()->isa << " " << r << "x" << c << " at " << t << "," << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, MatmulKernelTest,
                         testing::ValuesIn(runnable_train_matmul_kernels()), isa_name);

TEST(MatmulThreads, ThreadCountDoesNotChangeResults) {
  const int64_t T = 37, N = 70, K = 300;
  const auto x = random_floats(size_t(T * K), 4), w = random_floats(size_t(N * K), 5);
  const auto dy = random_floats(size_t(T * N), 6);
  std::vector<std::vector<float>> outs;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<float> y(size_t(T * N)), dx(size_t(T * K), 0.5f), dw(size_t(N * K), 0.25f);
    matmul_forward({x.data(), T, K}, {w.data(), N, K}, {y.data(), T, N}, pool);
    matmul_backward_input({dy.data(), T, N}, {w.data(), N, K}, {dx.data(), T, K}, pool);
    matmul_backward_weight({dy.data(), T, N}, {x.data(), T, K}, {dw.data(), N, K}, pool);
    y.insert(y.end(), dx.begin(), dx.end());
    y.insert(y.end(), dw.begin(), dw.end());
    outs.push_back(y);
  }
  EXPECT_EQ(outs[0], outs[1]);
  EXPECT_EQ(outs[0], outs[2]);
}

}  // namespace
}  // namespace bitlm
