// tests/quant/gemv_t2_test.cpp — every T2 kernel of every ISA this CPU runs equals gemv_t2_ref
// exactly, on random data, for awkward shapes (cols not a multiple of 128, odd row counts) and
// token counts; the float kernels agree with a double reference.
#include "quant/gemv_t2.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

struct Shape { int64_t rows, cols; };
constexpr Shape kShapes[] = {{1, 128}, {3, 130}, {17, 2560}, {64, 6917}, {5, 1}, {6, 257}, {2, 384}};
constexpr int64_t kTokens[] = {1, 2, 3, 5, 8, 17};

// Random T2 rows with the format's zero tail (code 0 past cols) and int8 x over the full range,
// padded with zeros to whole blocks as QuantizedActivations is.
struct Data {
  int64_t rows, cols, row_bytes, stride;
  std::vector<uint8_t> w;
  std::vector<int8_t> x;
  std::vector<int32_t> x_sum;
  Data(Shape s, int64_t T, uint64_t seed)
      : rows(s.rows), cols(s.cols), row_bytes(t2_row_bytes(s.cols)), stride(row_bytes * 4) {
    Rng rng(seed);
    std::vector<int8_t> q(static_cast<size_t>(cols));
    w.resize(size_t(rows * row_bytes));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : q) v = int8_t(int(rng.below(3)) - 1);
      pack_t2_row(q.data(), cols, w.data() + r * row_bytes);
    }
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

class T2Kernel : public testing::TestWithParam<const TernaryKernels*> {};

TEST_P(T2Kernel, GemvEqualsReferenceExactly) {
  for (Shape s : kShapes) {
    const Data d(s, 1, uint64_t(s.rows * 31 + s.cols));
    std::vector<int32_t> want(size_t(s.rows), -7), got(size_t(s.rows), -7);
    gemv_t2_ref(d.w.data(), d.row_bytes, d.x.data(), d.x_sum[0], want.data(), s.rows);
    GetParam()->gemv_t2(d.w.data(), d.row_bytes, d.x.data(), d.x_sum[0], got.data(), s.rows);
    EXPECT_EQ(got, want) << GetParam()->isa << " " << s.rows << "x" << s.cols;
  }
}

TEST_P(T2Kernel, GemvOfExtremesHasNoOverflow) {  // all +1 weights times -128: the int16 worst case
  const int64_t cols = 2560, rb = t2_row_bytes(cols);
  std::vector<uint8_t> w(size_t(2 * rb), 0xaa);  // code 2 everywhere
  std::vector<int8_t> x(size_t(cols), -128);
  int32_t y[2];
  GetParam()->gemv_t2(w.data(), rb, x.data(), -128 * int32_t(cols), y, 2);
  EXPECT_EQ(y[0], -128 * cols);
  EXPECT_EQ(y[1], -128 * cols);
}

TEST_P(T2Kernel, GemmEqualsReferenceExactly) {
  for (Shape s : kShapes)
    for (int64_t T : kTokens) {
      const Data d(s, T, uint64_t(s.rows * 7 + s.cols * 3 + T));
      const int64_t y_stride = s.rows + 3;  // a stride wider than the rows
      std::vector<int32_t> want(size_t(T * y_stride), -7), got(want);
      gemm_t2_ref(d.w.data(), d.row_bytes, d.x.data(), d.stride, d.x_sum.data(), T, want.data(), y_stride, s.rows);
      GetParam()->gemm_t2(d.w.data(), d.row_bytes, d.x.data(), d.stride, d.x_sum.data(), T, got.data(), y_stride,
                          s.rows);
      EXPECT_EQ(got, want) << GetParam()->isa << " " << s.rows << "x" << s.cols << " T=" << T;
    }
}

TEST_P(T2Kernel, GemmF32MatchesDoubleReference) {
  for (Shape s : kShapes) {
    const int64_t T = 3;
    const Data d(s, T, uint64_t(s.cols));
    std::vector<float> x(d.x.size()), x_sum(size_t(T), 0.0f);
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(d.x[i]) / 37.0f;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < s.cols; ++i) x_sum[size_t(t)] += x[size_t(t * d.stride + i)];
    std::vector<float> y(static_cast<size_t>(T * s.rows));
    GetParam()->gemm_t2_f32(d.w.data(), d.row_bytes, x.data(), d.stride, x_sum.data(), T, y.data(), s.rows, s.rows);
    std::vector<int8_t> q(static_cast<size_t>(s.cols));
    for (int64_t r = 0; r < s.rows; ++r) {
      unpack_t2_row(d.w.data() + r * d.row_bytes, s.cols, q.data());
      for (int64_t t = 0; t < T; ++t) {
        double want = 0, mag = 0;
        for (int64_t i = 0; i < s.cols; ++i) {
          want += double(q[size_t(i)]) * double(x[size_t(t * d.stride + i)]);
          mag += std::fabs(double(x[size_t(t * d.stride + i)]));
        }
        EXPECT_NEAR(y[size_t(t * s.rows + r)], want, 1e-5 * mag + 1e-5)
            << GetParam()->isa << " " << s.rows << "x" << s.cols << " r=" << r << " t=" << t;
      }
    }
  }
}

TEST_P(T2Kernel, DotF32MatchesDoubleReference) {
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

TEST_P(T2Kernel, DenseRowDotsMatchDecodedDoubleReference) {
  const int64_t n = 2560 + 256;
  Rng rng(5);
  std::vector<float> w(static_cast<size_t>(n)), x(static_cast<size_t>(n)), dec(static_cast<size_t>(n));
  for (auto& v : w) v = float(rng.normal());
  for (auto& v : x) v = float(rng.normal());
  for (auto [type, dot] : {std::pair{type_id::kF16, GetParam()->dot_f16}, {type_id::kBF16, GetParam()->dot_bf16},
                           {type_id::kQ8_0, GetParam()->dot_q8_0}, {type_id::kQ6_K, GetParam()->dot_q6_k}})
    for (int64_t len : {n, int64_t(256), int64_t(32), int64_t(7)}) {
      if ((type == type_id::kQ8_0 && len % 32) || (type == type_id::kQ6_K && len % 256)) continue;
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

INSTANTIATE_TEST_SUITE_P(Isa, T2Kernel, testing::ValuesIn(runnable_kernels()),
                         [](const auto& info) { return std::string(info.param->isa); });

TEST(Dispatch, RefFirstAndBestIsRunnable) {
  const auto k = runnable_kernels();
  ASSERT_FALSE(k.empty());
  EXPECT_EQ(k[0]->isa, "ref");
  bool found = false;
  for (const TernaryKernels* p : k) found |= p == &best_kernels();
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace bitlm
