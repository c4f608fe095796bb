// tests/eval/power_law_test.cpp — the scaling-law fits on synthetic points with a known answer:
// exact points give back (a, alpha, c) and zero residuals; noisy points give an alpha within a few
// standard errors of the truth, and the pure power law's standard error equals the textbook OLS
// slope error computed here independently.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "eval/power_law.h"

namespace bitlm {
namespace {

const std::vector<double> kN = {1e5, 2.2e5, 5.9e5, 1.77e6, 4e6, 1e7};

std::vector<double> law(double a, double alpha, double c, const std::vector<double>& noise = {}) {
  std::vector<double> l;
  for (size_t i = 0; i < kN.size(); ++i) l.push_back(a * std::pow(kN[i] / 1e6, -alpha) + c + (noise.empty() ? 0 : noise[i]));
  return l;
}

TEST(PowerLaw, ExactPointsGiveTheLawBack) {
  const PowerLawFit f = fit_power_law_offset(kN, law(0.9, 0.35, 2.1));
  EXPECT_NEAR(f.a, 0.9, 1e-6);
  EXPECT_NEAR(f.alpha, 0.35, 1e-6);
  EXPECT_NEAR(f.c, 2.1, 1e-6);
  EXPECT_EQ(f.dof, 3);
  EXPECT_LT(f.rmse, 1e-9);
  for (double r : f.residuals) EXPECT_LT(std::fabs(r), 1e-8);
  EXPECT_LT(f.se_alpha, 1e-5);
  EXPECT_NEAR(f.predict(3e7), 0.9 * std::pow(30.0, -0.35) + 2.1, 1e-6);

  const PowerLawFit g = fit_power_law(kN, law(4.0, 0.07, 0));
  EXPECT_NEAR(g.a, 4.0, 1e-9);
  EXPECT_NEAR(g.alpha, 0.07, 1e-9);
  EXPECT_EQ(g.c, 0);
}

TEST(PowerLaw, NoisyPointsGiveAnAlphaWithinItsUncertainty) {
  const std::vector<double> noise = {0.004, -0.006, 0.003, 0.005, -0.004, -0.002};
  const PowerLawFit f = fit_power_law_offset(kN, law(0.9, 0.35, 2.1, noise));
  EXPECT_GT(f.se_alpha, 0);
  EXPECT_LT(std::fabs(f.alpha - 0.35), 3 * f.se_alpha) << f.alpha << " +- " << f.se_alpha;
  EXPECT_LT(std::fabs(f.c - 2.1), 3 * f.se_c);
  double sum_sq = 0;
  for (size_t i = 0; i < kN.size(); ++i) {
    EXPECT_NEAR(f.residuals[i], law(0.9, 0.35, 2.1, noise)[i] - f.predict(kN[i]), 1e-12);
    sum_sq += f.residuals[i] * f.residuals[i];
  }
  EXPECT_NEAR(f.rmse, std::sqrt(sum_sq / 6), 1e-12);
}

TEST(PowerLaw, PurePowerLawStandardErrorIsTheOlsSlopeError) {
  const std::vector<double> noise = {0.01, -0.02, 0.015, -0.01, 0.005, 0.0};
  const std::vector<double> l = law(4.0, 0.07, 0, noise);
  const PowerLawFit f = fit_power_law(kN, l);
  // se(slope) = sqrt(SSE / (n - 2) / Sxx) in log-log.
  double mx = 0;
  for (double n : kN) mx += std::log(n / 1e6) / double(kN.size());
  double sxx = 0, sse = 0;
  for (size_t i = 0; i < kN.size(); ++i) {
    const double x = std::log(kN[i] / 1e6);
    sxx += (x - mx) * (x - mx);
    sse += std::pow(std::log(l[i]) - (std::log(f.a) - f.alpha * x), 2);
  }
  EXPECT_NEAR(f.se_alpha, std::sqrt(sse / 4 / sxx), 1e-12);
  EXPECT_NEAR(f.alpha, 0.07, 0.01);
}

// Points on a straight line in log N (what 4 noisy sizes of the sweep looked like) have no curvature to
// separate a from c: the SSE falls as alpha -> 0, so the minimum sits on the search bound. The fit must
// say so; a law with real curvature must not.
TEST(PowerLaw, AStraightLineInLogNIsADegenerateOffsetFit) {
  std::vector<double> l;
  for (double n : kN) l.push_back(4.0 - 0.1 * std::log(n / 1e6));
  const PowerLawFit f = fit_power_law_offset(kN, l);
  EXPECT_TRUE(f.degenerate) << "alpha " << f.alpha << " a " << f.a << " c " << f.c;
  EXPECT_LT(f.alpha, 1e-3);
  EXPECT_FALSE(fit_power_law_offset(kN, law(0.9, 0.35, 2.1)).degenerate);
  EXPECT_FALSE(fit_power_law_offset(kN, law(0.9, 0.35, 2.1, {0.004, -0.006, 0.003, 0.005, -0.004, -0.002})).degenerate);
}

TEST(PowerLaw, TooFewOrBadPointsAreRefused) {
  const std::vector<double> n = {1e5, 1e6}, l = {3.0, 2.5};
  EXPECT_THROW(fit_power_law_offset(n, l), UserError);
  const std::vector<double> n3 = {1e5, 1e6, 1e7}, l3 = {3.0, NAN, 2.0};
  EXPECT_THROW(fit_power_law_offset(n3, l3), UserError);
  const PowerLawFit exact = fit_power_law_offset(n3, std::vector<double>{3.0, 2.5, 2.3});
  EXPECT_EQ(exact.dof, 0);
  EXPECT_EQ(exact.se_alpha, 0);  // three points, three parameters: no uncertainty to give
}

}  // namespace
}  // namespace bitlm
