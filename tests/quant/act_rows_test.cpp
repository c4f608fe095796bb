// tests/quant/act_rows_test.cpp — every ISA's row quantizers (quant/act_rows.h) write exactly the
// ref's scales, int8 and sums, and the ref is quantize.h's per-token math; odd lengths hit the
// masked tails, a hand-made row hits round-half-even ties.
#include "quant/act_rows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "quant/quantize.h"

namespace bitlm {
namespace {

struct Out {
  std::vector<int8_t> q;
  std::vector<float> scale;
  std::vector<int32_t> sum;
  Out(int64_t T, int64_t stride) : q(size_t(T * stride), 0x55), scale(size_t(T)), sum(size_t(T)) {}
  ActRows rows(const std::vector<float>& x, int64_t T, int64_t n, int64_t stride) {
    return {x.data(), n + 3, T, n, q.data(), stride, scale.data(), sum.data()};
  }
  bool operator==(const Out&) const = default;
};

// T rows of n values at stride n + 3 (the gap must not be read into the result).
std::vector<float> random_rows(Rng& rng, int64_t T, int64_t n) {
  std::vector<float> x(size_t(T * (n + 3)));
  for (auto& v : x) v = float(rng.normal() * (rng.below(8) == 0 ? 20.0 : 1.0));
  return x;
}

constexpr int64_t kLengths[] = {1, 15, 16, 17, 100, 2560};
constexpr int64_t kTokens[] = {1, 3, 8, 9, 17};

TEST(ActRows, EveryIsaEqualsTheRefExactly) {
  Rng rng(7);
  for (int64_t n : kLengths)
    for (int64_t T : kTokens) {
      const std::vector<float> x = random_rows(rng, T, n);
      std::vector<float> g(static_cast<size_t>(n));
      for (auto& v : g) v = float(1.0 + 0.3 * rng.normal());
      const int64_t stride = n + 5;
      Out want_q(T, stride), want_n(T, stride);
      act_rows_quantize_ref(want_q.rows(x, T, n, stride));
      act_rows_rms_norm_quantize_ref(want_n.rows(x, T, n, stride), g.data(), 1e-5f);
      for (const ActRowKernels* k : runnable_act_row_kernels()) {
        Out got_q(T, stride), got_n(T, stride);
        k->quantize(got_q.rows(x, T, n, stride));
        k->rms_norm_quantize(got_n.rows(x, T, n, stride), g.data(), 1e-5f);
        EXPECT_TRUE(got_q == want_q) << k->isa << " quantize n=" << n << " T=" << T;
        EXPECT_TRUE(got_n == want_n) << k->isa << " rms_norm_quantize n=" << n << " T=" << T;
      }
    }
}

TEST(ActRows, RefIsThePerTokenQuantizer) {
  Rng rng(3);
  const int64_t T = 2, n = 37;
  const std::vector<float> x = random_rows(rng, T, n);
  Out got(T, n);
  act_rows_quantize_ref(got.rows(x, T, n, n));
  for (int64_t t = 0; t < T; ++t) {
    std::vector<int8_t> want(static_cast<size_t>(n));
    EXPECT_EQ(got.scale[size_t(t)], quantize_absmax_int8({x.data() + t * (n + 3), size_t(n)}, want));
    int32_t sum = 0;
    for (int8_t v : want) sum += v;
    EXPECT_EQ(got.sum[size_t(t)], sum);
    EXPECT_TRUE(std::equal(want.begin(), want.end(), got.q.begin() + t * n));
  }
}

TEST(ActRows, TiesRoundHalfToEven) {  // gamma = 127: scale 1, so x * s is x itself
  const std::vector<float> x = {127, 0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 3.49f, -127, 0, 0, 0};  // + stride gap
  const std::vector<int8_t> want = {127, 0, 2, 2, 0, -2, 3, -127};
  for (const ActRowKernels* k : runnable_act_row_kernels()) {
    Out got(1, 8);
    k->quantize(got.rows(x, 1, 8, 8));
    EXPECT_EQ(got.q, want) << k->isa;
    EXPECT_EQ(got.scale[0], 1.0f) << k->isa;
    EXPECT_EQ(got.sum[0], 5) << k->isa;
  }
}

TEST(ActRows, RstdIsTheRmsNormFloat) {
  Rng rng(5);
  const int64_t T = 11, n = 300;
  const std::vector<float> x = random_rows(rng, T, n);
  std::vector<float> rstd(static_cast<size_t>(T));
  rms_rstd_rows(x.data(), n + 3, T, n, 1e-6f, rstd.data());
  for (int64_t t = 0; t < T; ++t) {
    double sum_sq = 0;  // ops/rms_norm_forward, written out (test_quant cannot link ops)
    for (int64_t i = 0; i < n; ++i) sum_sq += double(x[size_t(t * (n + 3) + i)]) * x[size_t(t * (n + 3) + i)];
    EXPECT_EQ(rstd[size_t(t)], float(1.0 / std::sqrt(sum_sq / double(n) + double(1e-6f)))) << t;
  }
}

}  // namespace
}  // namespace bitlm
