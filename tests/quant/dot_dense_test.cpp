// tests/quant/dot_dense_test.cpp — the dense-row dots of every ISA this CPU runs (the output head:
// F32, F16, BF16, Q8_0, Q6_K rows with float x) agree with a double reference, and the dispatch
// table lists ref first. The packed-layout kernels: packed_kernels_test.cpp.
#include "quant/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

class DenseDot : public testing::TestWithParam<const MatmulKernels*> {};

TEST_P(DenseDot, DotF32MatchesDoubleReference) {
  Rng rng(3);
  for (int64_t n : {1, 7, 8, 31, 33, 2560, 2563}) {
    std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    double want = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
      a[size_t(i)] = float(rng.normal());
      b[size_t(i)] = float(rng.normal());
      want += double(a[size_t(i)]) * b[size_t(i)];
      mag += std::fabs(double(a[size_t(i)]) * b[size_t(i)]);
    }
    EXPECT_NEAR(GetParam()->dot_f32(a.data(), b.data(), n), want, 1e-6 * mag) << GetParam()->isa << " n=" << n;
  }
}

TEST_P(DenseDot, DenseRowDotsMatchDecodedDoubleReference) {
  const int64_t n = 2560 + 256;
  Rng rng(5);
  std::vector<float> w(static_cast<size_t>(n)), x(static_cast<size_t>(n)), dec(static_cast<size_t>(n));
  for (auto& v : w) v = float(rng.normal());
  for (auto& v : x) v = float(rng.normal());
  for (auto [type, dot] : {std::pair{kGgmlF16, GetParam()->dot_f16}, {kGgmlBF16, GetParam()->dot_bf16},
                           {kGgmlQ8_0, GetParam()->dot_q8_0}, {kGgmlQ6_K, GetParam()->dot_q6_k}})
    for (int64_t len : {n, int64_t(256), int64_t(32), int64_t(7)}) {
      if ((type == kGgmlQ8_0 && len % 32) || (type == kGgmlQ6_K && len % 256)) continue;
      std::vector<uint8_t> row(dense_row_bytes(type, len));
      encode_dense_row(type, w.data(), len, row.data());
      decode_dense_row(type, row.data(), len, dec.data());
      double want = 0, mag = 0;
      for (int64_t i = 0; i < len; ++i) {
        want += double(dec[size_t(i)]) * x[size_t(i)];
        mag += std::fabs(double(dec[size_t(i)]) * x[size_t(i)]);
      }
      EXPECT_NEAR(dot(row.data(), x.data(), len), want, 1e-6 * mag) << GetParam()->isa << " type " << type << " n=" << len;
    }
}

INSTANTIATE_TEST_SUITE_P(Isa, DenseDot, testing::ValuesIn(runnable_kernels()),
                         [](const auto& info) { return std::string(info.param->isa); });

TEST(Dispatch, RefFirstAndBestIsRunnable) {
  const auto k = runnable_kernels();
  ASSERT_FALSE(k.empty());
  EXPECT_EQ(k[0]->isa, "ref");
  bool found = false;
  for (const MatmulKernels* p : k) found |= p == &best_kernels();
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace bitlm
