// tests/quant/gemv_t1_test.cpp — the T1 (1.6-bit) kernels: gemv_t1_ref equals a plain dot with the
// weights unpack_t1_row decodes, and every ISA this CPU runs equals gemv_t1_ref exactly, for cols
// that are not a multiple of the 160-weight block, odd row counts and token counts.
#include <gtest/gtest.h>

#include <vector>

#include "core/rng.h"
#include "quant/gemv_t2.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

struct Shape { int64_t rows, cols; };
constexpr Shape kShapes[] = {{1, 160}, {3, 161}, {17, 2560}, {64, 6917}, {5, 1}, {6, 319}, {2, 480}, {9, 6912}};
constexpr int64_t kTokens[] = {1, 2, 3, 5, 8, 9, 17, 31, 64};  // >= 16: the decoded-once AVX-512 GEMM

// Random T1 rows and int8 x over the full range (-128 included), padded with zeros to whole
// 160-blocks as QuantizedActivations is; q keeps the weights for the plain reference.
struct Data {
  int64_t rows, cols, row_bytes, stride;
  std::vector<int8_t> q;
  std::vector<uint8_t> w;
  std::vector<int8_t> x;
  std::vector<int32_t> x_sum;
  Data(Shape s, int64_t T, uint64_t seed)
      : rows(s.rows), cols(s.cols), row_bytes(t1_row_bytes(s.cols)), stride(row_bytes * 5) {
    Rng rng(seed);
    q.resize(size_t(rows * cols));
    for (auto& v : q) v = int8_t(int(rng.below(3)) - 1);
    w.resize(size_t(rows * row_bytes));
    for (int64_t r = 0; r < rows; ++r) pack_t1_row(q.data() + r * cols, cols, w.data() + r * row_bytes);
    x.assign(size_t(T * stride), 0);
    x_sum.assign(size_t(T), 0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < cols; ++i) {
        const int8_t v = i % 61 == 7 ? int8_t(-128) : int8_t(int(rng.below(256)) - 128);
        x[size_t(t * stride + i)] = v;
        x_sum[size_t(t)] += v;
      }
  }
};

TEST(GemvT1Ref, EqualsPlainDotOfTheDecodedWeights) {
  for (Shape s : kShapes) {
    const Data d(s, 1, uint64_t(s.rows * 5 + s.cols));
    std::vector<int32_t> got(size_t(s.rows));
    gemv_t1_ref(d.w.data(), d.row_bytes, d.x.data(), d.x_sum[0], got.data(), s.rows);
    for (int64_t r = 0; r < s.rows; ++r) {
      int32_t want = 0;
      for (int64_t i = 0; i < s.cols; ++i) want += int32_t(d.q[size_t(r * s.cols + i)]) * d.x[size_t(i)];
      ASSERT_EQ(got[size_t(r)], want) << s.rows << "x" << s.cols << " r=" << r;
    }
  }
}

TEST(GemmT1F32Ref, EqualsTheIntegerKernelOnIntegerX) {  // small integers: float sums are exact
  const Data d({5, 333}, 3, 11);
  std::vector<float> x(d.x.size()), x_sum(3, 0.0f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(d.x[i] / 8);
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t i = 0; i < d.cols; ++i) x_sum[size_t(t)] += x[size_t(t * d.stride + i)];
  std::vector<float> y(15);
  gemm_t1_f32_ref(d.w.data(), d.row_bytes, x.data(), d.stride, x_sum.data(), 3, y.data(), 5, 5);
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t r = 0; r < 5; ++r) {
      float want = 0;
      for (int64_t i = 0; i < d.cols; ++i) want += float(d.q[size_t(r * d.cols + i)]) * x[size_t(t * d.stride + i)];
      EXPECT_EQ(y[size_t(t * 5 + r)], want) << "r=" << r << " t=" << t;
    }
}

class T1Kernel : public testing::TestWithParam<const TernaryKernels*> {};

TEST_P(T1Kernel, GemvEqualsReferenceExactly) {
  for (Shape s : kShapes) {
    const Data d(s, 1, uint64_t(s.rows * 31 + s.cols));
    std::vector<int32_t> want(size_t(s.rows), -7), got(size_t(s.rows), -7);
    gemv_t1_ref(d.w.data(), d.row_bytes, d.x.data(), d.x_sum[0], want.data(), s.rows);
    GetParam()->gemv_t1(d.w.data(), d.row_bytes, d.x.data(), d.x_sum[0], got.data(), s.rows);
    EXPECT_EQ(got, want) << GetParam()->isa << " " << s.rows << "x" << s.cols;
  }
}

TEST_P(T1Kernel, GemvOfExtremesHasNoOverflow) {  // all +1 weights times -128: the int16 worst case
  const int64_t cols = 2560, rb = t1_row_bytes(cols);
  std::vector<uint8_t> w(size_t(2 * rb), 255);  // 22222 in base 3: code 2 everywhere
  std::vector<int8_t> x(size_t(cols), -128);
  int32_t y[2];
  GetParam()->gemv_t1(w.data(), rb, x.data(), -128 * int32_t(cols), y, 2);
  EXPECT_EQ(y[0], -128 * cols);
  EXPECT_EQ(y[1], -128 * cols);
}

// The GEMMs of both native layouts add products in int16 before widening: all +1 weights times
// -128 over 6912 columns (x padded to whole blocks with zeros, as QuantizedActivations is), 3 rows,
// a tile and a rest of tokens.
TEST_P(T1Kernel, NativeGemmsOfExtremesHaveNoOverflow) {
  struct Native { GemmT2 TernaryKernels::*gemm; int64_t row_bytes, per_byte; uint8_t all_plus_one; };
  const int64_t rows = 3, cols = 6912, T = 9;
  for (const Native n : {Native{&TernaryKernels::gemm_t2, t2_row_bytes(cols), 4, 0xaa},
                         Native{&TernaryKernels::gemm_t1, t1_row_bytes(cols), 5, 255}}) {
    const int64_t stride = n.row_bytes * n.per_byte;
    std::vector<uint8_t> w(size_t(rows * n.row_bytes), n.all_plus_one);
    std::vector<int8_t> x(size_t(T * stride), 0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < cols; ++i) x[size_t(t * stride + i)] = -128;
    std::vector<int32_t> x_sum(size_t(T), -128 * int32_t(cols)), y(size_t(T * rows), 0);
    (GetParam()->*n.gemm)(w.data(), n.row_bytes, x.data(), stride, x_sum.data(), T, y.data(), rows, rows);
    for (int32_t v : y) EXPECT_EQ(v, -128 * cols) << GetParam()->isa << " " << n.per_byte << " weights per byte";
  }
}

TEST_P(T1Kernel, GemmEqualsReferenceExactly) {
  for (Shape s : kShapes)
    for (int64_t T : kTokens) {
      const Data d(s, T, uint64_t(s.rows * 7 + s.cols * 3 + T));
      const int64_t y_stride = s.rows + 3;  // a stride wider than the rows
      std::vector<int32_t> want(size_t(T * y_stride), -7), got(want);
      gemm_t1_ref(d.w.data(), d.row_bytes, d.x.data(), d.stride, d.x_sum.data(), T, want.data(), y_stride, s.rows);
      GetParam()->gemm_t1(d.w.data(), d.row_bytes, d.x.data(), d.stride, d.x_sum.data(), T, got.data(), y_stride,
                          s.rows);
      EXPECT_EQ(got, want) << GetParam()->isa << " " << s.rows << "x" << s.cols << " T=" << T;
    }
}

INSTANTIATE_TEST_SUITE_P(Isa, T1Kernel, testing::ValuesIn(runnable_kernels()),
                         [](const auto& info) { return std::string(info.param->isa); });

}  // namespace
}  // namespace bitlm
