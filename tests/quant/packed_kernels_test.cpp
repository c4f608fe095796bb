// tests/quant/packed_kernels_test.cpp — the kernels of every packed layout (quant/packed_layout.h)
// in every ISA this CPU runs: the int8 GEMV/GEMM equal the layout's ref exactly and the ref equals
// a plain dot with the weights its row codec decodes, for cols that are not a whole block, odd row
// counts and token counts; the f32 GEMM agrees with a double reference. A new layout is covered by
// its row alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "core/rng.h"
#include "quant/kernels.h"
#include "quant/packed_layout.h"

namespace bitlm {
namespace {

struct Shape { int64_t rows, cols; };
constexpr Shape kShapes[] = {{1, 128}, {1, 160}, {3, 130}, {3, 161}, {17, 2560}, {64, 6917}, {5, 1},
                             {6, 257}, {6, 319}, {2, 384}, {2, 480}, {9, 6912}};
constexpr int64_t kTokens[] = {1, 2, 3, 5, 8, 9, 17, 31, 64};  // >= 16: the decoded-once AVX-512 GEMMs

// Random rows packed by the layout's codec (q kept for the plain reference) and int8 x over the
// full range (-128 included), padded with zeros to whole blocks as QuantizedActivations is.
struct Data {
  int64_t rows, cols, row_bytes, stride;
  std::vector<int8_t> q;
  std::vector<uint8_t> w;
  std::vector<int8_t> x;
  std::vector<int32_t> x_sum;
  Data(const PackedLayout& l, Shape s, int64_t T, uint64_t seed)
      : rows(s.rows), cols(s.cols), row_bytes(l.row_bytes(s.cols)), stride(l.padded_cols(s.cols)) {
    Rng rng(seed);
    q.resize(size_t(rows * cols));
    for (auto& v : q) v = int8_t(int(rng.below(3)) - 1);
    w.resize(size_t(rows * row_bytes));
    for (int64_t r = 0; r < rows; ++r) l.pack_row(q.data() + r * cols, cols, w.data() + r * row_bytes);
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

const PackedKernels& ref(const PackedLayout& l) { return *runnable_kernels().front().*l.kernels; }

class PackedKernel : public testing::TestWithParam<std::tuple<const PackedLayout*, const MatmulKernels*>> {
 protected:
  const PackedLayout& layout() const { return *std::get<0>(GetParam()); }
  const PackedKernels& kernels() const { return *std::get<1>(GetParam()).*layout().kernels; }
  std::string where(Shape s) const {
    return std::string(layout().name) + "/" + std::string(std::get<1>(GetParam())->isa) + " " +
           std::to_string(s.rows) + "x" + std::to_string(s.cols);
  }
};

TEST_P(PackedKernel, GemvEqualsReferenceExactly) {
  for (Shape s : kShapes) {
    const Data d(layout(), s, 1, uint64_t(s.rows * 31 + s.cols));
    std::vector<int32_t> want(size_t(s.rows), -7), got(size_t(s.rows), -7);
    ref(layout()).gemv(d.w.data(), d.row_bytes, d.x.data(), d.x_sum[0], want.data(), s.rows);
    kernels().gemv(d.w.data(), d.row_bytes, d.x.data(), d.x_sum[0], got.data(), s.rows);
    EXPECT_EQ(got, want) << where(s);
  }
}

TEST_P(PackedKernel, ReferenceIsThePlainDotOfTheDecodedWeights) {
  for (Shape s : kShapes) {
    const Data d(layout(), s, 1, uint64_t(s.rows * 5 + s.cols));
    std::vector<int32_t> got(size_t(s.rows));
    ref(layout()).gemv(d.w.data(), d.row_bytes, d.x.data(), d.x_sum[0], got.data(), s.rows);
    std::vector<int8_t> q(size_t(s.cols));
    for (int64_t r = 0; r < s.rows; ++r) {
      layout().unpack_row(d.w.data() + r * d.row_bytes, s.cols, q.data());
      ASSERT_EQ(q, std::vector<int8_t>(d.q.begin() + r * s.cols, d.q.begin() + (r + 1) * s.cols)) << where(s);
      int32_t want = 0;
      for (int64_t i = 0; i < s.cols; ++i) want += int32_t(q[size_t(i)]) * d.x[size_t(i)];
      ASSERT_EQ(got[size_t(r)], want) << where(s) << " r=" << r;
    }
  }
}

TEST_P(PackedKernel, GemvOfExtremesHasNoOverflow) {  // all +1 weights times -128: the int16 worst case
  const int64_t cols = 2560, rb = layout().row_bytes(cols), stride = layout().padded_cols(cols);
  const std::vector<int8_t> ones(size_t(cols), 1);
  std::vector<uint8_t> w(size_t(2 * rb));
  for (int r = 0; r < 2; ++r) layout().pack_row(ones.data(), cols, w.data() + r * rb);
  std::vector<int8_t> x(size_t(stride), 0);
  std::fill(x.begin(), x.begin() + cols, int8_t(-128));
  int32_t y[2];
  kernels().gemv(w.data(), rb, x.data(), -128 * int32_t(cols), y, 2);
  EXPECT_EQ(y[0], -128 * cols);
  EXPECT_EQ(y[1], -128 * cols);
}

// The GEMMs add products in int16 before widening: all +1 weights times -128 over 6912 columns
// (x padded to whole blocks with zeros, as QuantizedActivations is), 3 rows, a tile and a rest of tokens.
TEST_P(PackedKernel, GemmOfExtremesHasNoOverflow) {
  const int64_t rows = 3, cols = 6912, T = 9, rb = layout().row_bytes(cols), stride = layout().padded_cols(cols);
  const std::vector<int8_t> ones(size_t(cols), 1);
  std::vector<uint8_t> w(size_t(rows * rb));
  for (int64_t r = 0; r < rows; ++r) layout().pack_row(ones.data(), cols, w.data() + r * rb);
  std::vector<int8_t> x(size_t(T * stride), 0);
  for (int64_t t = 0; t < T; ++t) std::fill(x.begin() + t * stride, x.begin() + t * stride + cols, int8_t(-128));
  std::vector<int32_t> x_sum(size_t(T), -128 * int32_t(cols)), y(size_t(T * rows), 0);
  kernels().gemm(w.data(), rb, x.data(), stride, x_sum.data(), T, y.data(), rows, rows);
  for (int32_t v : y) EXPECT_EQ(v, -128 * cols) << where({rows, cols});
}

TEST_P(PackedKernel, GemmEqualsReferenceExactly) {
  for (Shape s : kShapes)
    for (int64_t T : kTokens) {
      const Data d(layout(), s, T, uint64_t(s.rows * 7 + s.cols * 3 + T));
      const int64_t y_stride = s.rows + 3;  // a stride wider than the rows
      std::vector<int32_t> want(size_t(T * y_stride), -7), got(want);
      ref(layout()).gemm(d.w.data(), d.row_bytes, d.x.data(), d.stride, d.x_sum.data(), T, want.data(), y_stride,
                         s.rows);
      kernels().gemm(d.w.data(), d.row_bytes, d.x.data(), d.stride, d.x_sum.data(), T, got.data(), y_stride, s.rows);
      EXPECT_EQ(got, want) << where(s) << " T=" << T;
    }
}

TEST_P(PackedKernel, GemmF32MatchesDoubleReference) {
  for (Shape s : kShapes) {
    const int64_t T = 3;
    const Data d(layout(), s, T, uint64_t(s.cols));
    std::vector<float> x(d.x.size()), x_sum(size_t(T), 0.0f);
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(d.x[i]) / 37.0f;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < s.cols; ++i) x_sum[size_t(t)] += x[size_t(t * d.stride + i)];
    std::vector<float> y(static_cast<size_t>(T * s.rows));
    kernels().gemm_f32(d.w.data(), d.row_bytes, x.data(), d.stride, x_sum.data(), T, y.data(), s.rows, s.rows);
    for (int64_t r = 0; r < s.rows; ++r)
      for (int64_t t = 0; t < T; ++t) {
        double want = 0, mag = 0;
        for (int64_t i = 0; i < s.cols; ++i) {
          want += double(d.q[size_t(r * s.cols + i)]) * double(x[size_t(t * d.stride + i)]);
          mag += std::fabs(double(x[size_t(t * d.stride + i)]));
        }
        EXPECT_NEAR(y[size_t(t * s.rows + r)], want, 1e-5 * mag + 1e-5) << where(s) << " r=" << r << " t=" << t;
      }
  }
}

std::vector<const PackedLayout*> layouts() {
  std::vector<const PackedLayout*> v;
  for (const PackedLayout& l : packed_layouts()) v.push_back(&l);
  return v;
}

INSTANTIATE_TEST_SUITE_P(Isa, PackedKernel,
                         testing::Combine(testing::ValuesIn(layouts()), testing::ValuesIn(runnable_kernels())),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)->name) + "_" +
                                  std::string(std::get<1>(info.param)->isa);
                         });

// Issue 15: the layout ternary weights run in is chosen per machine by what decodes fastest there.
// Each ISA's table names one (measured: docs/performance.md, "Layout per machine"), and load_layout
// puts every ternary type into best_kernels()'s choice -- except the 1.6-bit types (T1, TQ1_0),
// which stay 1.6 bits in memory (issue 14).
TEST(LoadLayout, EveryTernaryTypeRunsInTheFastestLayoutOfTheIsaButOnePointSixBitsStay) {
  for (const MatmulKernels* k : runnable_kernels()) {
    EXPECT_NE(find_packed_layout(k->fastest_layout), nullptr) << k->isa;
    if (k->isa == "avx512") {
      EXPECT_EQ(k->fastest_layout, kGgmlBitlmT1);
    } else if (k->isa == "avx2" || k->isa == "ref") {
      EXPECT_EQ(k->fastest_layout, kGgmlBitlmT2) << k->isa;
    }
  }
  if (std::getenv("BITLM_LAYOUT") != nullptr) GTEST_SKIP() << "BITLM_LAYOUT overrides the choice";
  for (uint32_t type : {kGgmlBitlmT2, kGgmlTQ2_0, kGgmlI2_S, kGgmlF32, kGgmlF16})
    EXPECT_EQ(load_layout(type), best_kernels().fastest_layout) << ggml_type_name(type);
  for (uint32_t type : {kGgmlBitlmT1, kGgmlTQ1_0}) EXPECT_EQ(load_layout(type), kGgmlBitlmT1) << ggml_type_name(type);
}

}  // namespace
}  // namespace bitlm
