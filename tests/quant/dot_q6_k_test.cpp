// tests/quant/dot_q6_k_test.cpp — the Q6_K x Q8_K head dot (quant/kernels.h DotQ6KQ8) on every
// ISA: the per-block int32 sums are exact and the blocks are added in one order with fma, so every
// ISA must return ref's float bit for bit; ref itself is checked against integer and double dots.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/fp16.h"
#include "core/rng.h"
#include "quant/kernels.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

constexpr int64_t kBlockBytes = 210;

class DotQ6KQ8Test : public testing::TestWithParam<const MatmulKernels*> {};

std::vector<int16_t> sums16(const std::vector<int8_t>& xq) {
  std::vector<int16_t> s(xq.size() / 16, 0);
  for (size_t i = 0; i < xq.size(); ++i) s[i / 16] = int16_t(s[i / 16] + xq[i]);
  return s;
}

// Encoded rows of N(0,1) weights, x quantized by quantize_q8_k_blocks: ref is the double dot of
// the decoded row with the dequantized x, and every ISA equals ref exactly.
TEST_P(DotQ6KQ8Test, EncodedRowsMatchRefExactlyAndTheDoubleDot) {
  Rng rng(7);
  for (int64_t n : {256, 512, 768, 2560}) {  // odd block counts, and the 2B-4T width
    const size_t N = static_cast<size_t>(n);
    std::vector<float> w(N), x(N), wd(N);
    for (auto& v : w) v = float(rng.normal());
    for (auto& v : x) v = float(rng.normal());
    x[3] = -4.5f;  // a block whose absmax is negative
    std::vector<uint8_t> row(dense_row_bytes(kGgmlQ6_K, n));
    encode_dense_row(kGgmlQ6_K, w.data(), n, row.data());
    decode_dense_row(kGgmlQ6_K, row.data(), n, wd.data());
    std::vector<int8_t> xq(N);
    std::vector<float> xd(N / 256);
    std::vector<int16_t> xs(N / 16);
    quantize_q8_k_blocks(x.data(), n, xq.data(), xd.data(), xs.data());
    EXPECT_EQ(xs, sums16(xq));
    double want = 0, mag = 0;
    for (size_t i = 0; i < N; ++i) {
      const double xi = double(xq[i]) * double(xd[i / 256]);
      EXPECT_LE(std::fabs(xi - x[i]), 0.501 * xd[i / 256]) << i;  // half a step (and float rounding)
      want += double(wd[i]) * xi;
      mag += std::fabs(double(wd[i]) * xi);
    }
    const float ref = dot_q6_k_q8_ref(row.data(), xq.data(), xd.data(), xs.data(), n);
    EXPECT_NEAR(ref, want, 1e-5 * mag) << n;
    EXPECT_EQ(GetParam()->dot_q6_k_q8(row.data(), xq.data(), xd.data(), xs.data(), n), ref)
        << GetParam()->isa << " n=" << n;
  }
}

// Raw random blocks (every code, scales down to -128) and int8 x down to -128, with d = 1 and a
// step of 1: one block's dot is the exact integer sum of the decoded values times x.
TEST_P(DotQ6KQ8Test, RawBlocksGiveTheExactIntegerSum) {
  Rng rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<uint8_t> row(kBlockBytes);
    for (auto& b : row) b = uint8_t(rng.below(256));
    if (trial == 0) std::memset(row.data(), 0, 192);  // codes 0 (value -32) ...
    if (trial < 2) std::memset(row.data() + 192, 0x80, 16);  // ... times scale -128 ...
    const uint16_t one = f32_to_fp16(1.0f);
    std::memcpy(row.data() + 208, &one, 2);
    std::vector<int8_t> xq(256);
    for (auto& v : xq) v = trial < 2 ? int8_t(-128) : int8_t(int(rng.below(256)) - 128);  // ... times -128
    const std::vector<int16_t> xs = sums16(xq);
    float wd[256];
    decode_dense_row(kGgmlQ6_K, row.data(), 256, wd);
    int64_t want = 0;
    for (int i = 0; i < 256; ++i) want += int64_t(wd[i]) * xq[size_t(i)];
    const float xd = 1.0f;
    const float got = GetParam()->dot_q6_k_q8(row.data(), xq.data(), &xd, xs.data(), 256);
    EXPECT_EQ(got, float(want)) << GetParam()->isa << " trial " << trial;
    EXPECT_EQ(got, dot_q6_k_q8_ref(row.data(), xq.data(), &xd, xs.data(), 256)) << GetParam()->isa;
  }
}

// The batched head's kernel: T activation rows against one Q6_K row give, row for row, ref's
// one-row dot bit for bit (chunks of rows: T up to 33), and write only y[t * y_stride].
TEST_P(DotQ6KQ8Test, RowsKernelEqualsTheOneRowDotForEveryRow) {
  Rng rng(13);
  for (int64_t n : {256, 2560}) {
    const size_t N = static_cast<size_t>(n);
    std::vector<float> w(N);
    for (auto& v : w) v = float(rng.normal());
    std::vector<uint8_t> row(dense_row_bytes(kGgmlQ6_K, n));
    encode_dense_row(kGgmlQ6_K, w.data(), n, row.data());
    for (int64_t T : {1, 2, 3, 16, 17, 33}) {
      std::vector<float> x(size_t(T) * N);
      for (auto& v : x) v = float(rng.normal());
      std::vector<int8_t> xq(x.size());
      std::vector<float> xd(size_t(T) * N / 256);
      std::vector<int16_t> xs(size_t(T) * N / 16);
      for (int64_t t = 0; t < T; ++t)
        quantize_q8_k_blocks(x.data() + t * n, n, xq.data() + t * n, xd.data() + t * (n / 256),
                             xs.data() + t * (n / 16));
      constexpr int64_t kStride = 3;
      std::vector<float> y(size_t(T * kStride), -7.0f);
      GetParam()->dot_q6_k_q8_rows(row.data(), xq.data(), xd.data(), xs.data(), n, T, y.data(), kStride);
      for (int64_t t = 0; t < T; ++t) {
        const float want = dot_q6_k_q8_ref(row.data(), xq.data() + t * n, xd.data() + t * (n / 256),
                                           xs.data() + t * (n / 16), n);
        EXPECT_EQ(y[size_t(t * kStride)], want) << GetParam()->isa << " n=" << n << " T=" << T << " t=" << t;
        EXPECT_EQ(y[size_t(t * kStride + 1)], -7.0f);
        EXPECT_EQ(y[size_t(t * kStride + 2)], -7.0f);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, DotQ6KQ8Test, testing::ValuesIn(runnable_kernels()),
                         [](const auto& info) { return std::string(info.param->isa); });

}  // namespace
}  // namespace bitlm
