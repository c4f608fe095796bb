// tests/quant/dot_q8_test.cpp — the Q8_0 x Q8_0 head dot (quant/kernels.h DotQ8Q8) on every ISA:
// the per-block int32 sums are exact, so each ISA may differ from ref only by float summation order.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "quant/kernels.h"
#include "quant/quantize.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

class DotQ8Q8Test : public testing::TestWithParam<const MatmulKernels*> {};

TEST_P(DotQ8Q8Test, MatchesRefAndTheDoubleDot) {
  Rng rng(7);
  for (int64_t n : {32, 64, 96, 2560}) {  // odd block counts hit the AVX-512 tail
    const size_t N = static_cast<size_t>(n);
    std::vector<float> w(N), x(N), wd(N);
    for (auto& v : w) v = float(rng.normal());
    for (auto& v : x) v = float(rng.normal());
    x[0] = -3.5f;  // a block whose absmax is negative
    std::vector<uint8_t> row(dense_row_bytes(kGgmlQ8_0, n));
    encode_dense_row(kGgmlQ8_0, w.data(), n, row.data());
    decode_dense_row(kGgmlQ8_0, row.data(), n, wd.data());
    std::vector<int8_t> xq(N);
    std::vector<float> xd(N / 32);
    quantize_absmax_int8_groups(x, n / 32, xq, xd);
    double want = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double xi = double(xq[size_t(i)]) / double(xd[size_t(i / 32)]);
      want += double(wd[size_t(i)]) * xi;
      mag += std::fabs(double(wd[size_t(i)]) * xi);
    }
    for (auto& d : xd) d = 1.0f / d;
    const float ref = dot_q8_0_q8_ref(row.data(), xq.data(), xd.data(), n);
    const float got = GetParam()->dot_q8_0_q8(row.data(), xq.data(), xd.data(), n);
    EXPECT_NEAR(ref, want, 1e-5 * mag) << n;
    EXPECT_NEAR(got, ref, 1e-5 * mag) << GetParam()->isa << " n=" << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, DotQ8Q8Test, testing::ValuesIn(runnable_kernels()),
                         [](const auto& info) { return std::string(info.param->isa); });

}  // namespace
}  // namespace bitlm
