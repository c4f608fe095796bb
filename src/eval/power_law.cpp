// eval/power_law.cpp — see power_law.h.
#include "eval/power_law.h"

#include <array>
#include <cmath>

#include "core/error.h"

namespace bitlm {
namespace {

struct Linear2 { double a = 0, c = 0, sse = 0; };

// Least squares of y = a * x + c.
Linear2 fit_line(std::span<const double> x, std::span<const double> y) {
  const double n = double(x.size());
  double sx = 0, sy = 0;
  for (size_t i = 0; i < x.size(); ++i) sx += x[i], sy += y[i];
  const double mx = sx / n, my = sy / n;
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) sxx += (x[i] - mx) * (x[i] - mx), sxy += (x[i] - mx) * (y[i] - my);
  Linear2 r;
  r.a = sxx > 0 ? sxy / sxx : 0;
  r.c = my - r.a * mx;
  for (size_t i = 0; i < x.size(); ++i) r.sse += std::pow(y[i] - (r.a * x[i] + r.c), 2);
  return r;
}

Linear2 fit_at_alpha(std::span<const double> n, std::span<const double> loss, double n0, double alpha) {
  std::vector<double> x(n.size());
  for (size_t i = 0; i < n.size(); ++i) x[i] = std::pow(n[i] / n0, -alpha);
  return fit_line(x, loss);
}

// (JᵀJ)⁻¹ of a k x k symmetric matrix by Gauss-Jordan; false if singular.
template <size_t K>
bool invert(std::array<std::array<double, K>, K>& m) {
  std::array<std::array<double, K>, K> inv{};
  for (size_t i = 0; i < K; ++i) inv[i][i] = 1;
  for (size_t col = 0; col < K; ++col) {
    size_t piv = col;
    for (size_t r = col + 1; r < K; ++r)
      if (std::fabs(m[r][col]) > std::fabs(m[piv][col])) piv = r;
    if (std::fabs(m[piv][col]) < 1e-300) return false;
    std::swap(m[piv], m[col]);
    std::swap(inv[piv], inv[col]);
    const double d = m[col][col];
    for (size_t j = 0; j < K; ++j) m[col][j] /= d, inv[col][j] /= d;
    for (size_t r = 0; r < K; ++r) {
      if (r == col) continue;
      const double f = m[r][col];
      for (size_t j = 0; j < K; ++j) m[r][j] -= f * m[col][j], inv[r][j] -= f * inv[col][j];
    }
  }
  m = inv;
  return true;
}

// Standard errors s * sqrt(diag((JᵀJ)⁻¹)) from the rows of J (K columns).
template <size_t K>
std::array<double, K> standard_errors(const std::vector<std::array<double, K>>& jac, double sse, int dof) {
  std::array<double, K> se{};
  if (dof <= 0) return se;
  std::array<std::array<double, K>, K> jtj{};
  for (const auto& row : jac)
    for (size_t i = 0; i < K; ++i)
      for (size_t j = 0; j < K; ++j) jtj[i][j] += row[i] * row[j];
  if (!invert(jtj)) return se;
  const double s2 = sse / dof;
  for (size_t i = 0; i < K; ++i) se[i] = std::sqrt(std::max(0.0, s2 * jtj[i][i]));
  return se;
}

void finish(PowerLawFit& f, std::span<const double> n, std::span<const double> loss) {
  double sse = 0;
  f.residuals.resize(n.size());
  for (size_t i = 0; i < n.size(); ++i) {
    f.residuals[i] = loss[i] - f.predict(n[i]);
    sse += f.residuals[i] * f.residuals[i];
  }
  f.rmse = std::sqrt(sse / double(n.size()));
}

void check_points(std::span<const double> n, std::span<const double> loss, size_t min_points) {
  BITLM_CHECK(n.size() == loss.size(), "power-law fit: {} sizes but {} losses", n.size(), loss.size());
  BITLM_CHECK(n.size() >= min_points, "power-law fit: {} points, at least {} needed", n.size(), min_points);
  for (size_t i = 0; i < n.size(); ++i)
    BITLM_CHECK(n[i] > 0 && std::isfinite(loss[i]), "power-law fit: point {} (N = {}, L = {}) is not usable", i, n[i], loss[i]);
}

}  // namespace

double PowerLawFit::predict(double n) const { return a * std::pow(n / n0, -alpha) + c; }

PowerLawFit fit_power_law_offset(std::span<const double> n, std::span<const double> loss, double n0) {
  check_points(n, loss, 3);
  // SSE(alpha) on a log grid, then golden-section refinement around the best grid point.
  constexpr int kGrid = 400;
  constexpr double kLo = 1e-4, kHi = 4.0;
  auto alpha_at = [&](int i) { return kLo * std::pow(kHi / kLo, double(i) / kGrid); };
  int best = 0;
  double best_sse = INFINITY;
  for (int i = 0; i <= kGrid; ++i) {
    const double sse = fit_at_alpha(n, loss, n0, alpha_at(i)).sse;
    if (sse < best_sse) best_sse = sse, best = i;
  }
  double lo = alpha_at(std::max(0, best - 1)), hi = alpha_at(std::min(kGrid, best + 1));
  const double g = (std::sqrt(5.0) - 1) / 2;
  for (int it = 0; it < 200 && hi - lo > 1e-13 * hi; ++it) {
    const double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
    if (fit_at_alpha(n, loss, n0, x1).sse < fit_at_alpha(n, loss, n0, x2).sse) hi = x2; else lo = x1;
  }
  PowerLawFit f;
  f.n0 = n0;
  f.alpha = (lo + hi) / 2;
  const Linear2 lin = fit_at_alpha(n, loss, n0, f.alpha);
  f.a = lin.a;
  f.c = lin.c;
  f.dof = int(n.size()) - 3;
  f.degenerate = f.alpha < 1.05 * kLo || f.alpha > kHi / 1.05;
  finish(f, n, loss);
  std::vector<std::array<double, 3>> jac;  // d/da, d/dalpha, d/dc
  for (double ni : n) {
    const double p = std::pow(ni / n0, -f.alpha);
    jac.push_back({p, -f.a * std::log(ni / n0) * p, 1.0});
  }
  const auto se = standard_errors(jac, lin.sse, f.dof);
  f.se_a = se[0], f.se_alpha = se[1], f.se_c = se[2];
  return f;
}

PowerLawFit fit_power_law(std::span<const double> n, std::span<const double> loss, double n0) {
  check_points(n, loss, 2);
  std::vector<double> x(n.size()), y(n.size());
  for (size_t i = 0; i < n.size(); ++i) {
    BITLM_CHECK(loss[i] > 0, "power-law fit: loss {} at N = {} is not positive", loss[i], n[i]);
    x[i] = std::log(n[i] / n0);
    y[i] = std::log(loss[i]);
  }
  const Linear2 lin = fit_line(x, y);  // log L = log a - alpha log(N/n0)
  PowerLawFit f;
  f.n0 = n0;
  f.a = std::exp(lin.c);
  f.alpha = -lin.a;
  f.dof = int(n.size()) - 2;
  finish(f, n, loss);
  std::vector<std::array<double, 2>> jac;  // in log space: d/dlog a, d/dalpha
  for (double xi : x) jac.push_back({1.0, -xi});
  const auto se = standard_errors(jac, lin.sse, f.dof);
  f.se_a = f.a * se[0];  // delta method: se(a) = a se(log a)
  f.se_alpha = se[1];
  return f;
}

}  // namespace bitlm
