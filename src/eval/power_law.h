// eval/power_law.h — least-squares fits of the scaling law of 003 §3.1.2, eq. 13:
//   L(N) = a · (N / N0)^(-alpha) + c      (irreducible loss c; N0 a fixed unit, e.g. 1e6)
// and of the pure power law L = a · (N / N0)^(-alpha) (a line in log-log), with residuals and
// standard errors from the Jacobian at the optimum: cov = s² (JᵀJ)⁻¹, s² = SSE / (n − k).
// The three-parameter fit is separable: for a fixed alpha, (a, c) is linear least squares, so
// alpha is found by a bracketing search of the one-dimensional SSE(alpha) (variable projection);
// no starting guess, no divergence.
#pragma once
#include <span>
#include <vector>

namespace bitlm {

struct PowerLawFit {
  double a = 0, alpha = 0, c = 0;           // c = 0 for the pure power law
  double se_a = 0, se_alpha = 0, se_c = 0;  // 0 when dof == 0 (an exact fit: no uncertainty)
  std::vector<double> residuals;            // observed − fitted, in input order
  double rmse = 0;
  int dof = 0;                               // points − parameters
  double n0 = 1;
  // Offset law only: the SSE minimum lies on an end of alpha's search range, i.e. the points hold no
  // curvature to separate a from c (as alpha -> 0, a·x^-alpha + c -> (a + c) - a·alpha·ln x, so a and c
  // run to ±infinity together). The numbers are then not estimates; say "degenerate".
  bool degenerate = false;
  double predict(double n) const;
};

// L = a (N/n0)^-alpha + c over >= 3 points (UserError otherwise); alpha searched in [1e-4, 4].
PowerLawFit fit_power_law_offset(std::span<const double> n, std::span<const double> loss, double n0 = 1e6);
// L = a (N/n0)^-alpha: ordinary least squares of log L on log N, >= 2 points, every L > 0.
PowerLawFit fit_power_law(std::span<const double> n, std::span<const double> loss, double n0 = 1e6);

}  // namespace bitlm
