// quant/ptq.cpp — see ptq.h.
#include "quant/ptq.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "quant/quantize.h"

namespace bitlm {
namespace {

// In place: A (n x n, symmetric positive definite) -> its lower Cholesky factor L (A = L Lᵀ); the
// upper triangle is zeroed. UserError if A is not positive definite.
void cholesky_lower(std::vector<double>& a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double d = a[size_t(j * n + j)];
    for (int64_t k = 0; k < j; ++k) d -= a[size_t(j * n + k)] * a[size_t(j * n + k)];
    if (!(d > 0)) throw UserError(fmt::format("GPTQ: the damped Hessian is not positive definite (column {})", j));
    const double ljj = std::sqrt(d);
    a[size_t(j * n + j)] = ljj;
    for (int64_t i = j + 1; i < n; ++i) {
      double s = a[size_t(i * n + j)];
      for (int64_t k = 0; k < j; ++k) s -= a[size_t(i * n + k)] * a[size_t(j * n + k)];
      a[size_t(i * n + j)] = s / ljj;
    }
    for (int64_t i = 0; i < j; ++i) a[size_t(i * n + j)] = 0;
  }
}

// H⁻¹ from its lower Cholesky factor L: H⁻¹ = L⁻ᵀ L⁻¹ (torch.cholesky_inverse).
std::vector<double> cholesky_inverse(const std::vector<double>& l, int64_t n) {
  std::vector<double> linv(size_t(n * n), 0.0);  // L⁻¹, lower triangular
  for (int64_t j = 0; j < n; ++j) {
    linv[size_t(j * n + j)] = 1.0 / l[size_t(j * n + j)];
    for (int64_t i = j + 1; i < n; ++i) {
      double s = 0;
      for (int64_t k = j; k < i; ++k) s += l[size_t(i * n + k)] * linv[size_t(k * n + j)];
      linv[size_t(i * n + j)] = -s / l[size_t(i * n + i)];
    }
  }
  std::vector<double> inv(size_t(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0;  // (L⁻ᵀ L⁻¹)_ij = Σ_k L⁻¹_ki L⁻¹_kj, k >= max(i, j)
      for (int64_t k = i; k < n; ++k) s += linv[size_t(k * n + i)] * linv[size_t(k * n + j)];
      inv[size_t(i * n + j)] = inv[size_t(j * n + i)] = s;
    }
  return inv;
}

// GPTQ's Quantizer (sym=False, per channel): the grid over [min(x, 0), max(x, 0)] in 2^b - 1 steps.
struct MinMaxGrid {
  double scale = 1, zero = 0, maxq = 15;
  static MinMaxGrid fit(const double* x, int64_t n, int64_t stride, int bits) {
    double lo = 0, hi = 0;
    for (int64_t i = 0; i < n; ++i) {
      lo = std::min(lo, x[i * stride]);
      hi = std::max(hi, x[i * stride]);
    }
    if (lo == 0 && hi == 0) {
      lo = -1;
      hi = 1;
    }
    MinMaxGrid g;
    g.maxq = std::ldexp(1.0, bits) - 1;
    g.scale = (hi - lo) / g.maxq;
    g.zero = std::nearbyint(-lo / g.scale);
    return g;
  }
  double operator()(double x) const {
    const double q = std::clamp(std::nearbyint(x / scale) + zero, 0.0, maxq);
    return scale * (q - zero);
  }
};

}  // namespace

void fake_quant_absmax_rows(std::span<float> x, int64_t rows, int64_t cols, int bits) {
  BITLM_CHECK(bits >= 2 && bits <= 16, "absmax quantization to {} bits: want 2..16", bits);
  BITLM_ASSERT(int64_t(x.size()) >= rows * cols);
  const float qp = float(std::ldexp(1.0, bits - 1) - 1), qn = -qp - 1;  // eq. 6-7: [-2^(b-1), 2^(b-1) - 1]
  for (int64_t r = 0; r < rows; ++r) {
    float* v = x.data() + r * cols;
    float amax = 0;
    for (int64_t i = 0; i < cols; ++i) amax = std::max(amax, std::fabs(v[i]));
    const float s = qp / std::max(amax, kQuantEps);
    for (int64_t i = 0; i < cols; ++i) v[i] = std::clamp(std::nearbyint(v[i] * s), qn, qp) / s;
  }
}

void ptq_absmax_weights(std::span<float> w, int64_t rows, int64_t cols, double wbits) {
  const std::span<float> all = w.subspan(0, size_t(rows * cols));
  if (wbits == 1.58 || wbits == 1) {
    std::vector<int8_t> q(all.size());
    const float beta = wbits == 1 ? quantize_sign(all, q).beta : quantize_absmean(all, q);
    for (size_t i = 0; i < all.size(); ++i) all[i] = float(q[i]) * beta;
    return;
  }
  BITLM_CHECK(wbits == std::floor(wbits) && wbits >= 2 && wbits <= 16,
              "absmax weight bits {}: want 1, 1.58 or an integer 2..16", wbits);
  fake_quant_absmax_rows(all, rows, cols, int(wbits));
}

void gptq_accumulate(std::span<double> h_sum, int64_t cols, const float* x, int64_t n) {
  BITLM_ASSERT(int64_t(h_sum.size()) == cols * cols);
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x + t * cols;
    for (int64_t i = 0; i < cols; ++i) {
      const double xi = 2.0 * double(xt[i]);
      if (xi == 0) continue;
      double* hi = h_sum.data() + i * cols;
      for (int64_t j = 0; j < cols; ++j) hi[j] += xi * double(xt[j]);
    }
  }
}

std::vector<float> gptq_quantize(std::span<const float> w_in, int64_t rows, int64_t cols, std::span<const double> h_in,
                                 const GptqOptions& o) {
  BITLM_CHECK(o.bits >= 2 && o.bits <= 8, "GPTQ to {} bits: want 2..8", o.bits);
  BITLM_CHECK(o.group_size >= 0, "GPTQ group size {} < 0", o.group_size);
  BITLM_ASSERT(int64_t(w_in.size()) == rows * cols && int64_t(h_in.size()) == cols * cols);
  std::vector<double> w(w_in.begin(), w_in.end()), h(h_in.begin(), h_in.end());
  for (int64_t i = 0; i < cols; ++i)  // dead inputs: H_ii = 1, W[:, i] = 0
    if (h[size_t(i * cols + i)] == 0) {
      h[size_t(i * cols + i)] = 1;
      for (int64_t r = 0; r < rows; ++r) w[size_t(r * cols + i)] = 0;
    }
  double mean_diag = 0;
  for (int64_t i = 0; i < cols; ++i) mean_diag += h[size_t(i * cols + i)];
  const double damp = o.damp * mean_diag / double(cols);
  for (int64_t i = 0; i < cols; ++i) h[size_t(i * cols + i)] += damp;
  cholesky_lower(h, cols);
  std::vector<double> u = cholesky_inverse(h, cols);
  cholesky_lower(u, cols);  // u = L with H⁻¹ = L Lᵀ; GPTQ's upper factor U = Lᵀ: U[i][j] = u[j][i]

  std::vector<MinMaxGrid> grid(static_cast<size_t>(rows));
  if (o.group_size == 0)
    for (int64_t r = 0; r < rows; ++r) grid[size_t(r)] = MinMaxGrid::fit(&w[size_t(r * cols)], cols, 1, o.bits);
  std::vector<float> q(size_t(rows * cols));
  for (int64_t i = 0; i < cols; ++i) {
    if (o.group_size > 0 && i % o.group_size == 0)  // the group's grid, from the weights as updated so far
      for (int64_t r = 0; r < rows; ++r)
        grid[size_t(r)] = MinMaxGrid::fit(&w[size_t(r * cols + i)], std::min(o.group_size, cols - i), 1, o.bits);
    const double d = u[size_t(i * cols + i)];
    for (int64_t r = 0; r < rows; ++r) {
      double* wr = &w[size_t(r * cols)];
      const double qi = grid[size_t(r)](wr[i]);
      q[size_t(r * cols + i)] = float(qi);
      const double err = (wr[i] - qi) / d;  // Algorithm 1: E = (W_i − Q_i) / [H⁻¹]_ii (Cholesky form)
      for (int64_t j = i + 1; j < cols; ++j) wr[j] -= err * u[size_t(j * cols + i)];
    }
  }
  return q;
}

}  // namespace bitlm
