// tests/quant/quantize_test.cpp — the quantizers of quant/quantize.h on hand-computed cases.
#include "quant/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"

namespace bitlm {
namespace {

using I8 = std::vector<int8_t>;

TEST(Absmean, HandComputed) {
  // mean|w| = (0.5 + 1 + 1.5 + 0.1 + 3 + 0.9) / 6 = 7/6; w/beta = .43 .86 -1.29 .09 2.57 -.77
  const std::vector<float> w = {0.5f, 1.0f, -1.5f, 0.1f, 3.0f, -0.9f};
  I8 q(w.size());
  EXPECT_FLOAT_EQ(quantize_absmean(w, q), 7.0f / 6.0f);
  EXPECT_EQ(q, (I8{0, 1, -1, 0, 1, -1}));
}

TEST(Absmean, AllZeroUsesEps) {
  const std::vector<float> w(10, 0.0f);
  I8 q(w.size(), 5);
  EXPECT_EQ(quantize_absmean(w, q), kQuantEps);
  EXPECT_EQ(q, I8(10, 0));
}

TEST(Absmean, TiesRoundHalfToEven) {
  // mean|w| = 1 exactly: 0.5 -> 0, -0.5 -> 0 (half to even), 1.5 -> 2 -> clip 1
  const std::vector<float> w = {0.5f, -0.5f, 1.5f, -1.5f, 0.5f, 1.5f};
  I8 q(w.size());
  EXPECT_EQ(quantize_absmean(w, q), 1.0f);
  EXPECT_EQ(q, (I8{0, 0, 1, -1, 0, 1}));
}

TEST(Absmean, HugeOutlierZeroesTheRest) {
  std::vector<float> w(100, 0.01f);
  w[7] = 1000.0f;  // beta ~ 10: everything else rounds to 0
  I8 q(w.size());
  EXPECT_NEAR(quantize_absmean(w, q), (1000.0 + 99 * 0.01) / 100, 1e-4);
  for (size_t i = 0; i < q.size(); ++i) EXPECT_EQ(q[i], i == 7 ? 1 : 0) << i;
}

TEST(Sign, CentresAndMapsZeroToMinusOne) {
  // alpha = mean = 1; w - alpha = 1, 0, -1, 0 -> +1, -1, -1, -1; beta = mean|w| = 1
  const std::vector<float> w = {2.0f, 1.0f, 0.0f, 1.0f};
  I8 q(w.size());
  const SignQuant s = quantize_sign(w, q);
  EXPECT_EQ(s.alpha, 1.0f);
  EXPECT_EQ(s.beta, 1.0f);
  EXPECT_EQ(q, (I8{1, -1, -1, -1}));
}

TEST(Sign, AllZeroIsAllMinusOne) {
  const std::vector<float> w(5, 0.0f);
  I8 q(w.size());
  const SignQuant s = quantize_sign(w, q);
  EXPECT_EQ(s.alpha, 0.0f);
  EXPECT_EQ(s.beta, 0.0f);
  EXPECT_EQ(q, I8(5, -1));
}

TEST(AbsmaxInt8, HandComputed) {
  // gamma = 2: s = 63.5; x*s = 127, -63.5 -> -64 (half even), 31.75 -> 32, 0.3175 -> 0
  const std::vector<float> x = {2.0f, -1.0f, 0.5f, 0.005f};
  I8 q(x.size());
  EXPECT_EQ(quantize_absmax_int8(x, q), 63.5f);
  EXPECT_EQ(q, (I8{127, -64, 32, 0}));
}

TEST(AbsmaxInt8, NegativeMaxGivesMinus127) {
  const std::vector<float> x = {-4.0f, 1.0f};
  I8 q(x.size());
  EXPECT_EQ(quantize_absmax_int8(x, q), 127.0f / 4.0f);
  EXPECT_EQ(q, (I8{-127, 32}));  // 31.75 -> 32
}

TEST(AbsmaxInt8, AllZeroUsesEps) {
  const std::vector<float> x(3, 0.0f);
  I8 q(x.size(), 9);
  EXPECT_EQ(quantize_absmax_int8(x, q), 127.0f / kQuantEps);
  EXPECT_EQ(q, I8(3, 0));
}

// Found by tests/fuzz/model_fuzz.cpp: a model whose weights hold NaN (or overflow to it) fed NaN
// activations to the quantizer, and int8_t(NaN) is undefined behaviour (UBSan reported it in
// make test-asan). A NaN now quantizes to the low bound, like any defined garbage-in.
TEST(AbsmaxInt8, NanInputIsDefined) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {1.0f, nan, -1.0f};
  I8 q(x.size());
  quantize_absmax_int8(x, q);
  EXPECT_EQ(q[0], 127);
  EXPECT_EQ(q[2], -127);
  const std::vector<float> g(x.size(), 1.0f);
  int32_t q_sum = 0;
  rms_norm_quantize_int8(x, g, 1e-5f, q, &q_sum);  // rstd is NaN: every element is
  EXPECT_EQ(q, I8(3, -128));
}

TEST(AbsmaxInt8, EveryTieAndNearTieRoundsAsNearbyint) {
  // gamma = 127 gives s = 1, so q = nearbyint(x): each tie k + 0.5 rounds to the even neighbour,
  // and the floats either side of it to the nearer one.
  std::vector<float> x = {127.0f};
  for (int k = -127; k < 127; ++k) {
    const float tie = float(k) + 0.5f;
    for (float v : {std::nextafter(tie, -200.0f), tie, std::nextafter(tie, 200.0f)}) x.push_back(v);
  }
  I8 q(x.size());
  ASSERT_EQ(quantize_absmax_int8(x, q), 1.0f);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(q[i], int8_t(std::nearbyint(x[i]))) << x[i];
}

TEST(AbsmaxInt8, TinyValuesBelowEps) {
  // gamma = 1e-6 < eps: s = 127/1e-5, x*s = 12.7 -> 13, not 127
  const std::vector<float> x = {1e-6f};
  I8 q(1);
  quantize_absmax_int8(x, q);
  EXPECT_EQ(q[0], 13);
}

TEST(RmsNormQuantize, EqualsTheTwoStepsBitForBit) {
  std::vector<float> x(2560), g(2560), y(2560);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = std::sin(float(i) * 0.37f) * (i == 17 ? 40.0f : 1.5f);
    g[i] = 1.0f + 0.1f * std::cos(float(i));
  }
  double sum_sq = 0;  // ops/rms_norm_forward, written out (test_quant cannot link ops)
  for (float v : x) sum_sq += double(v) * v;
  const float r = float(1.0 / std::sqrt(sum_sq / double(x.size()) + double(1e-5f)));
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * r * g[i];
  I8 want(x.size()), got(x.size());
  const float want_s = quantize_absmax_int8(y, want);
  int32_t want_sum = 0, got_sum = 0;
  for (int8_t v : want) want_sum += v;
  EXPECT_EQ(rms_norm_quantize_int8(x, g, 1e-5f, got, &got_sum), want_s);
  EXPECT_EQ(got, want);
  EXPECT_EQ(got_sum, want_sum);
}

TEST(Groups, WeightRowGroupsHaveOwnBeta) {
  // 4 rows x 2 cols, 2 groups: rows 0-1 mean|w| = 1, rows 2-3 mean|w| = 10
  const std::vector<float> w = {1, -1, 0.4f, 1.6f, 10, -10, 4, 16};
  I8 q(w.size());
  std::vector<float> betas(2);
  quantize_absmean_groups(w, 4, 2, 2, q, betas);
  EXPECT_EQ(betas, (std::vector<float>{1.0f, 10.0f}));
  EXPECT_EQ(q, (I8{1, -1, 0, 1, 1, -1, 0, 1}));
}

TEST(Groups, ActivationGroupsHaveOwnScale) {
  const std::vector<float> x = {1, -0.5f, 100, 50};
  I8 q(x.size());
  std::vector<float> s(2);
  quantize_absmax_int8_groups(x, 2, q, s);
  EXPECT_EQ(s, (std::vector<float>{127.0f, 1.27f}));
  EXPECT_EQ(q, (I8{127, -64, 127, 64}));  // -63.5 -> -64, 63.5 -> 64 (half even)
}

TEST(Groups, UnevenSplitIsAUserError) {
  const std::vector<float> w(6, 1.0f);
  I8 q(6);
  std::vector<float> betas(4);
  EXPECT_THROW(quantize_absmean_groups(w, 3, 2, 4, q, betas), UserError);
}

}  // namespace
}  // namespace bitlm
