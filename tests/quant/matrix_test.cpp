// tests/quant/matrix_test.cpp — TernaryMatrix packing, the threaded matmuls of quant/matrix.h
// against double references (003 Fig. 12 scaling), DenseMatrix codecs and dense_matmul.
#include "quant/matrix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "quant/quantize.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

std::vector<int8_t> random_ternary(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<int8_t> q(static_cast<size_t>(n));
  for (auto& v : q) v = int8_t(int(rng.below(3)) - 1);
  return q;
}

std::vector<float> random_floats(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = float(rng.normal());
  return x;
}

TEST(TernaryMatrix, PackUnpackRoundTrip) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 128}, {3, 130}, {8, 1}, {5, 6917}}) {
    const auto q = random_ternary(rows * cols, uint64_t(rows + cols));
    const float s = 0.75f;
    const TernaryMatrix m = TernaryMatrix::pack(q, rows, cols, {&s, 1});
    EXPECT_EQ(m.row_bytes(), (cols + 127) / 128 * 32);
    EXPECT_EQ(m.n_bytes(), uint64_t(rows * m.row_bytes()));
    std::vector<int8_t> back(q.size());
    m.unpack(back);
    EXPECT_EQ(back, q) << rows << "x" << cols;
  }
}

TEST(TernaryMatrix, EveryLayoutPacksWholeBlocks) {
  for (const PackedLayout& l : packed_layouts())
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 160}, {3, 161}, {8, 1}, {5, 6917}}) {
      const auto q = random_ternary(rows * cols, uint64_t(rows + cols));
      const float s = 0.75f;
      const TernaryMatrix m = TernaryMatrix::pack(q, rows, cols, {&s, 1}, l.type);
      const int64_t blocks = (cols + l.block_weights() - 1) / l.block_weights();
      EXPECT_EQ(&m.layout(), &l);
      EXPECT_EQ(m.row_bytes(), blocks * l.storage().block_bytes);
      EXPECT_EQ(m.padded_cols(), blocks * l.block_weights());
      EXPECT_EQ(activation_block_lcm() % l.block_weights(), 0);
      std::vector<int8_t> back(q.size());
      m.unpack(back);
      EXPECT_EQ(back, q) << l.name << " " << rows << "x" << cols;
    }
}

// A file's packed bytes are copied as they are: the same weights and scale as a decode + pack.
TEST(TernaryMatrix, CopyNativeKeepsTheFileBytes) {
  const int64_t rows = 5, cols = 333;
  const auto q = random_ternary(rows * cols, 9);
  for (const PackedLayout& l : packed_layouts()) {
    const uint32_t type = l.type;
    const auto bytes = encode_ternary(type, q, rows, cols, 0.625f);
    const TernaryMatrix m = TernaryMatrix::copy_native(type, bytes, rows, cols, "f.gguf", "w");
    EXPECT_EQ(m.layout().type, type);
    EXPECT_EQ(m.scale_of_row(4), 0.625f);
    std::vector<int8_t> back(q.size());
    m.unpack(back);
    EXPECT_EQ(back, q) << type;
  }
}

TEST(TernaryMatrix, CopyNativeRejectsBadBytes) {
  const auto q = random_ternary(2 * 130, 4);
  auto t2 = encode_ternary(kGgmlBitlmT2, q, 2, 130, 1.0f);
  EXPECT_THROW(TernaryMatrix::copy_native(kGgmlBitlmT2, {t2.data(), t2.size() - 1}, 2, 130, "f", "w"), FormatError);
  t2[70] |= 0x30;  // a code 3
  EXPECT_THROW(TernaryMatrix::copy_native(kGgmlBitlmT2, t2, 2, 130, "f", "w"), FormatError);
  auto t1 = encode_ternary(kGgmlBitlmT1, q, 2, 130, -1.0f);  // a negative scale
  EXPECT_THROW(TernaryMatrix::copy_native(kGgmlBitlmT1, t1, 2, 130, "f", "w"), FormatError);
}

TEST(TernaryMatrix, GroupScalesMapToRows) {
  const auto q = random_ternary(6 * 4, 1);
  const std::vector<float> s = {1, 2, 3};
  const TernaryMatrix m = TernaryMatrix::pack(q, 6, 4, s);
  EXPECT_EQ(m.scale_of_row(0), 1);
  EXPECT_EQ(m.scale_of_row(3), 2);
  EXPECT_EQ(m.scale_of_row(5), 3);
}

TEST(TernaryMatrix, BadInputIsAUserError) {
  const float s = 1;
  const std::vector<int8_t> two = {0, 2};
  EXPECT_THROW(TernaryMatrix::pack(two, 1, 2, {&s, 1}), UserError);
  const std::vector<float> three = {1, 1, 1};
  EXPECT_THROW(TernaryMatrix::pack(random_ternary(4, 2), 2, 2, three), UserError);
}

// Activations quantized per token (003 eq. 6-7) and multiplied: y = beta * dot / x_scale.
TEST(TernaryMatmul, MatchesDoubleReferenceForEveryThreadCount) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (auto [rows, cols, T] : {std::tuple<int64_t, int64_t, int64_t>{1, 128, 1}, {70, 130, 1}, {33, 2560, 5},
                                 {97, 300, 70}}) {
      const auto q = random_ternary(rows * cols, uint64_t(rows * cols));
      const std::vector<float> s = {0.5f, 1.25f};
      const TernaryMatrix w = TernaryMatrix::pack(q, rows, cols, {s.data(), size_t(rows % 2 == 0 ? 2 : 1)});
      const auto x = random_floats(T * cols, uint64_t(T));
      QuantizedActivations xq;
      xq.resize(T, cols);
      for (int64_t t = 0; t < T; ++t) {
        xq.scale[size_t(t)] = quantize_absmax_int8({x.data() + t * cols, size_t(cols)},
                                                   {xq.q.data() + t * xq.stride, size_t(cols)});
        for (int64_t i = 0; i < cols; ++i) xq.sum[size_t(t)] += xq.q[size_t(t * xq.stride + i)];
      }
      std::vector<float> y(static_cast<size_t>(T * rows));
      ternary_matmul(w, xq, y.data(), pool);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t r = 0; r < rows; ++r) {
          int64_t dot = 0;
          for (int64_t i = 0; i < cols; ++i) dot += q[size_t(r * cols + i)] * xq.q[size_t(t * xq.stride + i)];
          const double want = double(w.scale_of_row(r)) * double(dot) / double(xq.scale[size_t(t)]);
          ASSERT_NEAR(y[size_t(t * rows + r)], want, 1e-5 * (1 + std::fabs(want)))
              << threads << " threads " << rows << "x" << cols << " T=" << T << " r=" << r << " t=" << t;
        }
    }
  }
}

// One region over stacked rows equals one call per matrix exactly, also where a thread's chunk
// spans two matrices (rows not multiples of the grain) and for prefill-sized T.
TEST(TernaryMatmul, MultiEqualsOneCallPerMatrix) {
  ThreadPool pool(3);
  const int64_t cols = 2560;
  for (int64_t T : {1, 9}) {
    std::vector<TernaryMatrix> ws;
    for (int64_t rows : {200, 45, 333}) {
      const float s = 0.25f * float(rows);
      ws.push_back(TernaryMatrix::pack(random_ternary(rows * cols, uint64_t(rows)), rows, cols, {&s, 1}));
    }
    const auto x = random_floats(T * cols, 5);
    QuantizedActivations xq;
    xq.resize(T, cols);
    for (int64_t t = 0; t < T; ++t)
      xq.scale[size_t(t)] = quantize_absmax_int8({x.data() + t * cols, size_t(cols)}, {xq.q.data() + t * xq.stride, size_t(cols)});
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < cols; ++i) xq.sum[size_t(t)] += xq.q[size_t(t * xq.stride + i)];
    std::vector<std::vector<float>> one(3), multi(3);
    std::vector<float*> ys;
    std::vector<const TernaryMatrix*> wp;
    for (size_t m = 0; m < 3; ++m) {
      one[m].resize(size_t(T * ws[m].rows()));
      multi[m].resize(size_t(T * ws[m].rows()));
      ternary_matmul(ws[m], xq, one[m].data(), pool);
      ys.push_back(multi[m].data());
      wp.push_back(&ws[m]);
    }
    ternary_matmul_multi(wp, xq, ys, pool);
    for (size_t m = 0; m < 3; ++m) EXPECT_EQ(multi[m], one[m]) << "matrix " << m << " T=" << T;
  }
}

// The 1.6-bit layout changes the bytes, not the arithmetic: the same int32 sums and scaling.
TEST(TernaryMatmul, T1EqualsT2Exactly) {
  ThreadPool pool(2);
  for (auto [rows, cols, T] : {std::tuple<int64_t, int64_t, int64_t>{70, 161, 1}, {33, 2560, 5}, {97, 300, 70}}) {
    const auto q = random_ternary(rows * cols, uint64_t(rows + cols));
    const float s = 0.5f;
    const TernaryMatrix t2 = TernaryMatrix::pack(q, rows, cols, {&s, 1}, kGgmlBitlmT2);
    const TernaryMatrix t1 = TernaryMatrix::pack(q, rows, cols, {&s, 1}, kGgmlBitlmT1);
    const auto x = random_floats(T * cols, uint64_t(T));
    QuantizedActivations xq;
    xq.resize(T, cols);
    for (int64_t t = 0; t < T; ++t) {
      xq.scale[size_t(t)] = quantize_absmax_int8({x.data() + t * cols, size_t(cols)}, {xq.q.data() + t * xq.stride, size_t(cols)});
      for (int64_t i = 0; i < cols; ++i) xq.sum[size_t(t)] += xq.q[size_t(t * xq.stride + i)];
    }
    std::vector<float> y2(static_cast<size_t>(T * rows)), y1(y2.size()), f2(y2.size()), f1(y2.size());
    ternary_matmul(t2, xq, y2.data(), pool);
    ternary_matmul(t1, xq, y1.data(), pool);
    EXPECT_EQ(y1, y2) << rows << "x" << cols << " T=" << T;
    ternary_matmul_f32(t2, x.data(), T, f2.data(), pool);
    ternary_matmul_f32(t1, x.data(), T, f1.data(), pool);
    for (size_t i = 0; i < f1.size(); ++i) ASSERT_NEAR(f1[i], f2[i], 1e-4 * (1 + std::fabs(f2[i]))) << i;
  }
}

TEST(TernaryMatmulF32, MatchesDoubleReference) {
  ThreadPool pool(2);
  for (auto [rows, cols, T] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {65, 130, 3}, {40, 2560, 2}}) {
    const auto q = random_ternary(rows * cols, uint64_t(cols));
    const float s = 0.3f;
    const TernaryMatrix w = TernaryMatrix::pack(q, rows, cols, {&s, 1});
    const auto x = random_floats(T * cols, 4);
    std::vector<float> y(static_cast<size_t>(T * rows));
    ternary_matmul_f32(w, x.data(), T, y.data(), pool);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t r = 0; r < rows; ++r) {
        double want = 0, mag = 0;
        for (int64_t i = 0; i < cols; ++i) {
          want += q[size_t(r * cols + i)] * double(x[size_t(t * cols + i)]);
          mag += std::fabs(double(x[size_t(t * cols + i)]));
        }
        ASSERT_NEAR(y[size_t(t * rows + r)], s * want, 1e-5 * s * mag + 1e-6) << rows << "x" << cols << " r=" << r;
      }
  }
}

TEST(QuantizedActivations, PaddingIsZeroAndStrideWholeT2AndT1Blocks) {
  QuantizedActivations xq;
  xq.resize(3, 130);
  EXPECT_EQ(xq.stride, 640);  // a multiple of 128 (T2) and 160 (T1)
  EXPECT_EQ(xq.q.size(), 3u * 640u);
  for (size_t i = 0; i < xq.q.size(); ++i) ASSERT_EQ(xq.q[i], 0);
  xq.resize(2, 130);  // fewer tokens of the same width keeps the buffer
  EXPECT_EQ(xq.T, 2);
}

double block_amax(const std::vector<float>& x, int64_t i, int64_t block) {
  double m = 0;
  for (int64_t j = i / block * block; j < i / block * block + block; ++j) m = std::max(m, double(std::fabs(x[size_t(j)])));
  return m;
}

TEST(DenseMatrix, EveryTypeMatmulMatchesDecodedRows) {
  ThreadPool pool(2);
  const int64_t rows = 70, cols = 512;
  const auto w = random_floats(rows * cols, 11);
  for (int64_t T : {1, 3})  // T = 1 dots encoded rows directly; T = 3 decodes each row once
    for (uint32_t type : {kGgmlF32, kGgmlF16, kGgmlBF16, kGgmlQ8_0, kGgmlQ6_K}) {
      const auto x = random_floats(T * cols, 12);
      const DenseMatrix m = DenseMatrix::from_f32(type, w, rows, cols);
      EXPECT_EQ(m.n_bytes(), dense_row_bytes(type, cols) * rows);
      std::vector<float> y(static_cast<size_t>(T * rows)), row(static_cast<size_t>(cols));
      dense_matmul(m, x.data(), T, y.data(), pool);
      for (int64_t r = 0; r < rows; ++r) {
        m.row_f32(r, row.data());
        for (int64_t t = 0; t < T; ++t) {
          double want = 0, mag = 0, x_rounding = 0;
          for (int64_t i = 0; i < cols; ++i) {
            want += double(row[size_t(i)]) * x[size_t(t * cols + i)];
            mag += std::fabs(double(row[size_t(i)]) * x[size_t(t * cols + i)]);
            // Q8_0 heads quantize x per 32-block too, Q6_K heads per 256: each x moves by at most
            // half a step, amax/254
            if (type == kGgmlQ8_0 || type == kGgmlQ6_K)
              x_rounding += std::fabs(row[size_t(i)]) * block_amax(x, t * cols + i, type == kGgmlQ8_0 ? 32 : 256) / 254;
          }
          ASSERT_NEAR(y[size_t(t * rows + r)], want, 1e-5 * mag + x_rounding) << type << " T=" << T << " r=" << r;
        }
      }
    }
}

TEST(DenseMatrix, ViewReadsTheCallersBytes) {
  const std::vector<float> w = {1, 2, 3, 4, 5, 6};
  const DenseMatrix m = DenseMatrix::view(kGgmlF32, reinterpret_cast<const uint8_t*>(w.data()), 2, 3);
  float row[3];
  m.row_f32(1, row);
  EXPECT_EQ(row[0], 4);
  EXPECT_EQ(row[2], 6);
  EXPECT_THROW(DenseMatrix::view(kGgmlTQ2_0, nullptr, 2, 256), UserError);
  EXPECT_THROW(DenseMatrix::view(kGgmlQ8_0, nullptr, 2, 33), UserError);
}

}  // namespace
}  // namespace bitlm
