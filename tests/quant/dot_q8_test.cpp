// tests/quant/dot_q8_test.cpp — the Q8_0 x Q8_0 and Q4_0 x Q8_0 head dots (quant/kernels.h DotQ8Q8)
// on every ISA: the per-block int32 sums are exact, so each ISA may differ from ref only by float
// summation order.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/ggml_types.h"
#include "core/rng.h"
#include "quant/kernels.h"
#include "quant/quantize.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

class DotQ8Q8Test : public testing::TestWithParam<const MatmulKernels*> {};

struct HeadDot { uint32_t type; DotQ8Q8 ref; DotQ8Q8 MatmulKernels::*dot; };
constexpr HeadDot kHeadDots[] = {{kGgmlQ8_0, dot_q8_0_q8_ref, &MatmulKernels::dot_q8_0_q8},
                                 {kGgmlQ4_0, dot_q4_0_q8_ref, &MatmulKernels::dot_q4_0_q8}};

TEST_P(DotQ8Q8Test, MatchesRefAndTheDoubleDot) {
  for (const HeadDot& h : kHeadDots) {
    Rng rng(7);
    for (int64_t n : {32, 64, 96, 2560}) {  // odd block counts hit the AVX-512 tail
      const size_t N = static_cast<size_t>(n);
      std::vector<float> w(N), x(N), wd(N);
      for (auto& v : w) v = float(rng.normal());
      for (auto& v : x) v = float(rng.normal());
      x[0] = -3.5f;  // a block whose absmax is negative
      w[40 % N] = 4.0f;  // a weight block whose absmax is positive (Q4_0: code 0)
      std::vector<uint8_t> row(dense_row_bytes(h.type, n));
      encode_dense_row(h.type, w.data(), n, row.data());
      decode_dense_row(h.type, row.data(), n, wd.data());
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
      const float ref = h.ref(row.data(), xq.data(), xd.data(), n);
      const float got = (GetParam()->*h.dot)(row.data(), xq.data(), xd.data(), n);
      EXPECT_NEAR(ref, want, 1e-5 * mag) << ggml_type_name(h.type) << " n=" << n;
      EXPECT_NEAR(got, ref, 1e-5 * mag) << ggml_type_name(h.type) << " " << GetParam()->isa << " n=" << n;
    }
  }
}

// Q4_0 rows are ggml's: w = d * (q - 8) with d = (signed absmax) / -8, so the block's largest |w|
// is exact (code 0) and every weight is within d / 2 of its value.
TEST(Q4_0Row, EncodesAsGgmlAndRoundTripsWithinHalfAStep) {
  Rng rng(3);
  std::vector<float> w(64), back(64);
  for (auto& v : w) v = 0.5f * float(rng.normal());
  w[5] = 3.0f;    // block 0's absmax, positive: d = -3/8
  w[49] = -2.5f;  // block 1's, negative
  std::vector<uint8_t> row(dense_row_bytes(kGgmlQ4_0, 64));
  ASSERT_EQ(row.size(), 36u);
  encode_dense_row(kGgmlQ4_0, w.data(), 64, row.data());
  decode_dense_row(kGgmlQ4_0, row.data(), 64, back.data());
  EXPECT_EQ(row[2 + 5] & 0xF, 0);  // element 5: low nibble of byte 5
  EXPECT_EQ(back[5], 3.0f);
  EXPECT_EQ(row[18 + 2 + 1] >> 4, 0);  // block 1's element 17: high nibble of byte 1
  EXPECT_FLOAT_EQ(back[49], -2.5f);
  for (int i = 0; i < 64; ++i) EXPECT_LE(std::fabs(back[size_t(i)] - w[size_t(i)]), (i < 32 ? 3.0f : 2.5f) / 16 + 1e-3f) << i;
}

INSTANTIATE_TEST_SUITE_P(Isa, DotQ8Q8Test, testing::ValuesIn(runnable_kernels()),
                         [](const auto& info) { return std::string(info.param->isa); });

}  // namespace
}  // namespace bitlm
