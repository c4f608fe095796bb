// tests/ops/glu_rows_test.cpp — every ISA's squared-ReLU GLU row equals relu2_glu_forward bit for
// bit, on random values, signed zeros, infinities and NaNs, odd lengths (masked tails) and in place.
#include "ops/glu_rows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/rng.h"
#include "ops/ops.h"

namespace bitlm {
namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(GluRows, EveryIsaEqualsRelu2GluForwardBitForBit) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  Rng rng(11);
  for (int64_t n : {1, 15, 16, 17, 100, 6912}) {
    std::vector<float> g(static_cast<size_t>(n)), u(static_cast<size_t>(n));
    for (size_t i = 0; i < g.size(); ++i) {
      g[i] = float(rng.normal() * 3);
      u[i] = float(rng.normal());
    }
    const float special[] = {0.0f, -0.0f, inf, -inf, nan, 1e30f, -1e-30f};
    for (size_t i = 0; i < g.size() && i < 7; ++i) g[i] = special[i];
    if (n > 8) u[7] = inf;  // 0 * inf in the scalar too
    std::vector<float> want(g.size());
    relu2_glu_forward({g.data(), 1, n, n}, {u.data(), 1, n, n}, {want.data(), 1, n, n});
    for (const GluRowKernels* k : runnable_glu_row_kernels()) {
      std::vector<float> got(g.size()), in_place = g;
      k->relu2_glu(g.data(), u.data(), got.data(), n);
      k->relu2_glu(in_place.data(), u.data(), in_place.data(), n);
      EXPECT_TRUE(same_bits(got, want)) << k->isa << " n=" << n;
      EXPECT_TRUE(same_bits(in_place, want)) << k->isa << " in place, n=" << n;
    }
  }
}

}  // namespace
}  // namespace bitlm
