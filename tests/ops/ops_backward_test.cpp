// tests/ops/ops_backward_test.cpp — every backward op against central finite differences of its
// forward. The probe loss is L = sum(r * y) for a fixed random r (so dL/dy = r), accumulated in
// double; the forward runs in float, so steps are 1e-2..1e-3 and tolerances relative to the
// gradient's scale. matmul is checked exactly-ish against a double loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "ops/attention.h"
#include "ops/ops.h"
#include "ops/ops_backward.h"
#include "ops/exp_lanes.h"

namespace bitlm {
namespace {

using Vec = std::vector<float>;

Vec random_vec(size_t n, uint64_t seed, double sd = 1.0) {
  Rng rng(seed);
  Vec v(n);
  for (auto& x : v) x = float(rng.normal() * sd);
  return v;
}

double probe(const Vec& y, const Vec& r) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += double(y[i]) * r[i];
  return s;
}

// Checks `analytic` == dL/d(*input) where L = probe(forward(), r), by central differences.
void expect_gradient(Vec* input, const Vec& analytic, const std::function<Vec()>& forward,
                     const Vec& r, float step, double rel_tol, const char* what) {
  ASSERT_EQ(input->size(), analytic.size()) << what;
  double scale = 1e-3;
  for (float g : analytic) scale = std::max(scale, double(std::fabs(g)));
  for (size_t i = 0; i < input->size(); ++i) {
    const float saved = (*input)[i];
    (*input)[i] = saved + step;
    const double up = probe(forward(), r);
    (*input)[i] = saved - step;
    const double down = probe(forward(), r);
    (*input)[i] = saved;
    const double numeric = (up - down) / (2.0 * double(step));
    ASSERT_NEAR(analytic[i], numeric, rel_tol * scale) << what << " element " << i;
  }
}

TEST(RmsNormBackward, MatchesFiniteDifferences) {
  ThreadPool pool(2);
  const int64_t T = 3, D = 13;
  Vec x = random_vec(T * D, 1), g = random_vec(D, 2), r = random_vec(T * D, 3);
  auto forward = [&] {
    Vec y(T * D);
    rms_norm_forward(Mat<const float>(x.data(), T, D), g, 1e-5f, Mat<float>(y.data(), T, D));
    return y;
  };
  Vec y(T * D), rstd(T), dx(T * D, 0.5f), dg(D, 0.25f);
  rms_norm_forward(Mat<const float>(x.data(), T, D), g, 1e-5f, Mat<float>(y.data(), T, D), rstd);
  rms_norm_backward(Mat<const float>(r.data(), T, D), Mat<const float>(x.data(), T, D), g, rstd,
                    Mat<float>(dx.data(), T, D), dg, pool);
  for (auto& v : dx) v -= 0.5f;  // backward adds into existing gradients
  for (auto& v : dg) v -= 0.25f;
  expect_gradient(&x, dx, forward, r, 1e-2f, 2e-3, "dx");
  expect_gradient(&g, dg, forward, r, 1e-2f, 2e-3, "dg");
}

TEST(RopeBackward, IsTheTransposeOfTheForward) {
  for (bool neox : {true, false}) {
    const int64_t T = 4, H = 2, Dh = 8;
    Vec x = random_vec(T * H * Dh, 4), r = random_vec(T * H * Dh, 5);
    const std::vector<int32_t> pos = {0, 1, 7, 300};
    auto forward = [&] {
      Vec y = x;
      rope_forward(Mat<float>(y.data(), T, H * Dh), H, Dh, pos, 10000.0f, neox);
      return y;
    };
    const RopeTable table = rope_table(301, Dh, 10000.0f);
    Vec dx = r;
    rope_backward(Mat<float>(dx.data(), T, H * Dh), H, table, pos, neox);
    expect_gradient(&x, dx, forward, r, 1e-2f, 1e-3, neox ? "neox" : "adjacent");
    Vec y_table = x;  // the training forward's table gives rope_forward's bits
    rope_forward_table(Mat<float>(y_table.data(), T, H * Dh), H, table, pos, neox);
    EXPECT_EQ(y_table, forward()) << (neox ? "neox" : "adjacent");
  }
}

TEST(SoftmaxBackward, MatchesFiniteDifferences) {
  const int64_t T = 2, V = 9;
  Vec x = random_vec(T * V, 6, 2.0), r = random_vec(T * V, 7);
  auto forward = [&] {
    Vec y = x;
    softmax_forward(Mat<float>(y.data(), T, V));
    return y;
  };
  const Vec y = forward();
  Vec dx(T * V, 0.0f);
  softmax_backward(Mat<const float>(r.data(), T, V), Mat<const float>(y.data(), T, V),
                   Mat<float>(dx.data(), T, V));
  expect_gradient(&x, dx, forward, r, 1e-2f, 2e-3, "dx");
}

TEST(GluBackward, SwigluAndRelu2MatchFiniteDifferences) {
  const int64_t T = 3, F = 11;
  for (bool relu2 : {false, true}) {
    Vec gate = random_vec(T * F, 8), up = random_vec(T * F, 9), r = random_vec(T * F, 10);
    for (auto& v : gate)  // keep relu^2 away from its kink at 0, where FD is undefined
      if (relu2 && std::fabs(v) < 0.05f) v = 0.3f;
    auto forward = [&] {
      Vec out(T * F);
      Mat<const float> g(gate.data(), T, F), u(up.data(), T, F);
      if (relu2) relu2_glu_forward(g, u, Mat<float>(out.data(), T, F));
      else swiglu_forward(g, u, Mat<float>(out.data(), T, F));
      return out;
    };
    Vec dgate(T * F, 7.0f), dup(T * F, -3.0f);  // overwritten, not added to
    Mat<const float> dout(r.data(), T, F), g(gate.data(), T, F), u(up.data(), T, F);
    if (relu2) relu2_glu_backward(dout, g, u, Mat<float>(dgate.data(), T, F), Mat<float>(dup.data(), T, F));
    else swiglu_backward(dout, g, u, Mat<float>(dgate.data(), T, F), Mat<float>(dup.data(), T, F));
    expect_gradient(&gate, dgate, forward, r, 1e-2f, 2e-3, relu2 ? "relu2 dgate" : "silu dgate");
    expect_gradient(&up, dup, forward, r, 1e-2f, 2e-3, relu2 ? "relu2 dup" : "silu dup");
  }
}

TEST(AttentionBackward, CausalGqaMatchesFiniteDifferences) {
  ThreadPool pool(2);
  const int H = 4, Hkv = 2, Dh = 4;
  const int64_t S = 2, T = 5, rows = S * T;  // two sequences of five tokens
  Vec q = random_vec(rows * H * Dh, 11), k = random_vec(rows * Hkv * Dh, 12),
      v = random_vec(rows * Hkv * Dh, 13), r = random_vec(rows * H * Dh, 14);
  auto forward = [&] {
    Vec out(rows * H * Dh);
    attention_forward_mt(Mat<const float>(q.data(), rows, H * Dh),
                         Mat<const float>(k.data(), rows, Hkv * Dh),
                         Mat<const float>(v.data(), rows, Hkv * Dh), H, Hkv, Dh, T,
                         Mat<float>(out.data(), rows, H * Dh), pool);
    return out;
  };
  Vec dq(q.size(), 0.0f), dk(k.size(), 0.0f), dv(v.size(), 0.0f);
  attention_backward(Mat<const float>(r.data(), rows, H * Dh),
                     Mat<const float>(q.data(), rows, H * Dh),
                     Mat<const float>(k.data(), rows, Hkv * Dh),
                     Mat<const float>(v.data(), rows, Hkv * Dh), H, Hkv, Dh, T,
                     Mat<float>(dq.data(), rows, H * Dh), Mat<float>(dk.data(), rows, Hkv * Dh),
                     Mat<float>(dv.data(), rows, Hkv * Dh), pool);
  expect_gradient(&q, dq, forward, r, 1e-2f, 2e-3, "dq");
  expect_gradient(&k, dk, forward, r, 1e-2f, 2e-3, "dk");
  expect_gradient(&v, dv, forward, r, 1e-2f, 2e-3, "dv");
}

// Sequences longer than the backward's causal tiles (64 rows; 150 = two whole tiles and a part)
// against the backward's formulas evaluated per query in double.
TEST(AttentionBackward, LongSequencesMatchDoubleLoops) {
  ThreadPool pool(2);
  const int H = 4, Hkv = 2, Dh = 8, group = H / Hkv;
  const int64_t S = 2, T = 150, rows = S * T;
  const Vec q = random_vec(rows * H * Dh, 41), k = random_vec(rows * Hkv * Dh, 42),
            v = random_vec(rows * Hkv * Dh, 43), r = random_vec(rows * H * Dh, 44);
  Vec dq(q.size(), 0.0f), dk(k.size(), 0.0f), dv(v.size(), 0.0f);
  attention_backward(Mat<const float>(r.data(), rows, H * Dh), Mat<const float>(q.data(), rows, H * Dh),
                     Mat<const float>(k.data(), rows, Hkv * Dh), Mat<const float>(v.data(), rows, Hkv * Dh),
                     H, Hkv, Dh, T, Mat<float>(dq.data(), rows, H * Dh),
                     Mat<float>(dk.data(), rows, Hkv * Dh), Mat<float>(dv.data(), rows, Hkv * Dh), pool);
  std::vector<double> eq(q.size()), ek(k.size()), ev(v.size()), p(T), dp(T);
  const double scale = 1.0 / std::sqrt(double(Dh));
  for (int64_t s = 0; s < S; ++s)
    for (int h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        const size_t qi = size_t(((s * T + t) * H + h) * Dh);
        auto kv = [&](int64_t j) { return size_t(((s * T + j) * Hkv + h / group) * Dh); };
        double mx = -1e300, z = 0, pdp = 0;
        for (int64_t j = 0; j <= t; ++j) {
          p[j] = dp[j] = 0;
          for (int i = 0; i < Dh; ++i) p[j] += scale * q[qi + i] * k[kv(j) + i];
          for (int i = 0; i < Dh; ++i) dp[j] += double(r[qi + i]) * v[kv(j) + i];
          mx = std::max(mx, p[j]);
        }
        for (int64_t j = 0; j <= t; ++j) z += (p[j] = std::exp(p[j] - mx));
        for (int64_t j = 0; j <= t; ++j) pdp += (p[j] /= z) * dp[j];
        for (int64_t j = 0; j <= t; ++j)
          for (int i = 0; i < Dh; ++i) {
            const double ds = p[j] * (dp[j] - pdp) * scale;
            eq[qi + i] += ds * k[kv(j) + i];
            ek[kv(j) + i] += ds * q[qi + i];
            ev[kv(j) + i] += p[j] * r[qi + i];
          }
      }
  for (size_t i = 0; i < q.size(); ++i) ASSERT_NEAR(dq[i], eq[i], 1e-4) << "dq " << i;
  for (size_t i = 0; i < k.size(); ++i) ASSERT_NEAR(dk[i], ek[i], 1e-4) << "dk " << i;
  for (size_t i = 0; i < v.size(); ++i) ASSERT_NEAR(dv[i], ev[i], 1e-4) << "dv " << i;
}

// The training forward (causal tiles of 64 queries on the fp32 block kernels; 150 spans three)
// computes the inference forward's attention up to float rounding.
TEST(AttentionForwardMt, MatchesTheInferenceForwardPerSequence) {
  ThreadPool pool(2);
  const int H = 4, Hkv = 1, Dh = 8;
  const int64_t S = 3, T = 150, rows = S * T;
  Vec q = random_vec(rows * H * Dh, 15), k = random_vec(rows * Hkv * Dh, 16),
      v = random_vec(rows * Hkv * Dh, 17), out(rows * H * Dh), ref(rows * H * Dh), scores(T);
  attention_forward_mt(Mat<const float>(q.data(), rows, H * Dh),
                       Mat<const float>(k.data(), rows, Hkv * Dh),
                       Mat<const float>(v.data(), rows, Hkv * Dh), H, Hkv, Dh, T,
                       Mat<float>(out.data(), rows, H * Dh), pool);
  for (int64_t s = 0; s < S; ++s)
    attention_forward(Mat<const float>(q.data() + s * T * H * Dh, T, H * Dh),
                      Mat<const float>(k.data() + s * T * Hkv * Dh, T, Hkv * Dh),
                      Mat<const float>(v.data() + s * T * Hkv * Dh, T, Hkv * Dh), H, Hkv, Dh,
                      Mat<float>(ref.data() + s * T * H * Dh, T, H * Dh), scores.data());
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], 1e-5) << i;
}

TEST(Matmul, ForwardAndBothGradientsMatchDoubleLoops) {
  const int64_t T = 37, K = 45, N = 70;
  Vec x = random_vec(T * K, 18), w = random_vec(N * K, 19), dy = random_vec(T * N, 20);
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    Vec y(T * N), dx(T * K, 1.0f), dw(N * K, -1.0f);
    matmul_forward(Mat<const float>(x.data(), T, K), Mat<const float>(w.data(), N, K),
                   Mat<float>(y.data(), T, N), pool);
    matmul_backward_input(Mat<const float>(dy.data(), T, N), Mat<const float>(w.data(), N, K),
                          Mat<float>(dx.data(), T, K), pool);
    matmul_backward_weight(Mat<const float>(dy.data(), T, N), Mat<const float>(x.data(), T, K),
                           Mat<float>(dw.data(), N, K), pool);
    Vec w_t(K * N), y_t(T * N, 5.0f);  // the same forward from W^T (the training head's)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < K; ++i) w_t[i * N + n] = w[n * K + i];
    matmul_forward_transposed(Mat<const float>(x.data(), T, K), Mat<const float>(w_t.data(), K, N),
                              Mat<float>(y_t.data(), T, N), pool);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t i = 0; i < K; ++i) s += double(x[t * K + i]) * w[n * K + i];
        ASSERT_NEAR(y[t * N + n], s, 1e-4);
        ASSERT_NEAR(y_t[t * N + n], s, 1e-4);
      }
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < K; ++i) {
        double s = 1.0;
        for (int64_t n = 0; n < N; ++n) s += double(dy[t * N + n]) * w[n * K + i];
        ASSERT_NEAR(dx[t * K + i], s, 1e-4);
      }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < K; ++i) {
        double s = -1.0;
        for (int64_t t = 0; t < T; ++t) s += double(dy[t * N + n]) * x[t * K + i];
        ASSERT_NEAR(dw[n * K + i], s, 1e-4);
      }
  }
}

// The b1.58 forward through the int8 x ternary GEMM computes the fp32 path's y = x_q w_q^T with
// the integer part exact: the two agree to float rounding, and both fake-quantized tensors are
// bit-identical to the fp32 path's.
TEST(BitLinear, TernaryGemmEqualsTheFp32FakeQuantForward) {
  const int64_t T = 21, K = 200, N = 37;  // K not a multiple of the 128-weight block
  const Vec x = random_vec(T * K, 31), w = random_vec(N * K, 32, 0.05);
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    Vec xq(T * K), xq_int(T * K), wq(N * K), wq_packed(N * K), y(T * N), y_int(T * N);
    const float beta = bitlinear_quantize_weight(WeightMode::kTernary, Mat<const float>(w.data(), N, K),
                                                 Mat<float>(wq.data(), N, K));
    const TernaryMatrix packed = bitlinear_pack_ternary(Mat<const float>(w.data(), N, K),
                                                        Mat<float>(wq_packed.data(), N, K));
    EXPECT_EQ(wq_packed, wq);
    EXPECT_EQ(packed.scale_of_row(0), beta);
    bitlinear_quantize_input(WeightMode::kTernary, Mat<const float>(x.data(), T, K),
                             Mat<float>(xq.data(), T, K), pool);
    QuantizedActivations xi;
    bitlinear_quantize_input_int8(Mat<const float>(x.data(), T, K), Mat<float>(xq_int.data(), T, K), xi, pool);
    EXPECT_EQ(xq_int, xq);
    bitlinear_forward(Mat<const float>(xq.data(), T, K), Mat<const float>(wq.data(), N, K),
                      Mat<float>(y.data(), T, N), pool);
    ternary_matmul(packed, xi, y_int.data(), pool);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y_int[i], y[i], 1e-5 * (1 + std::fabs(y[i]))) << i;
  }
}

// Group quantization (003 App. A.1, eq. 14-15) is what G model-parallel shards compute alone:
// row group g of w_q is shard g's weight quantized by itself (column-parallel: y's columns of
// group g are exactly that shard's x_q w_q^(g)T), column group g of x_q is shard g's input slice
// quantized by itself (row-parallel: y is the sum of the shards' partial products). One group is
// the ungrouped quantizers bit for bit.
TEST(BitLinear, GroupQuantizationEqualsIndependentlyQuantizedShards) {
  const int64_t T = 6, K = 96, N = 40, G = 4, Ng = N / G, Kg = K / G;
  Vec x = random_vec(T * K, 41), w = random_vec(N * K, 42, 0.05);
  for (int64_t i = 0; i < Ng * K; ++i) w[size_t(i)] *= 8;  // shard 0 of the weight much larger
  for (int64_t t = 0; t < T; ++t) x[size_t(t * K)] *= 20;   // an outlier in each token's group 0
  ThreadPool pool(2);
  for (WeightMode mode : {WeightMode::kTernary, WeightMode::kBinary}) {
    Vec wq(N * K), xq(T * K), wq1(N * K), xq1(T * K), wq_ref(N * K), xq_ref(T * K);
    bitlinear_quantize_weight_groups(mode, Mat<const float>(w.data(), N, K), Mat<float>(wq.data(), N, K), G);
    bitlinear_quantize_input_groups(mode, Mat<const float>(x.data(), T, K), Mat<float>(xq.data(), T, K), G, pool);
    // G = 1: the per-tensor / per-token quantizers
    bitlinear_quantize_weight_groups(mode, Mat<const float>(w.data(), N, K), Mat<float>(wq1.data(), N, K), 1);
    bitlinear_quantize_input_groups(mode, Mat<const float>(x.data(), T, K), Mat<float>(xq1.data(), T, K), 1, pool);
    bitlinear_quantize_weight(mode, Mat<const float>(w.data(), N, K), Mat<float>(wq_ref.data(), N, K));
    bitlinear_quantize_input(mode, Mat<const float>(x.data(), T, K), Mat<float>(xq_ref.data(), T, K), pool);
    EXPECT_EQ(wq1, wq_ref);
    EXPECT_EQ(xq1, xq_ref);
    EXPECT_NE(wq, wq_ref);  // the groups' own scales change the values
    EXPECT_NE(xq, xq_ref);

    Vec y(T * N), y_sum(T * N, 0.0f);
    bitlinear_forward(Mat<const float>(xq.data(), T, K), Mat<const float>(wq.data(), N, K), Mat<float>(y.data(), T, N),
                      pool);
    for (int64_t g = 0; g < G; ++g) {
      // weight shard g: its rows, copied out and quantized alone
      const Vec wg(w.begin() + g * Ng * K, w.begin() + (g + 1) * Ng * K);
      Vec wgq(Ng * K), yg(T * Ng);
      bitlinear_quantize_weight(mode, Mat<const float>(wg.data(), Ng, K), Mat<float>(wgq.data(), Ng, K));
      EXPECT_EQ(wgq, Vec(wq.begin() + g * Ng * K, wq.begin() + (g + 1) * Ng * K)) << "weight group " << g;
      bitlinear_forward(Mat<const float>(xq.data(), T, K), Mat<const float>(wgq.data(), Ng, K),
                        Mat<float>(yg.data(), T, Ng), pool);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t n = 0; n < Ng; ++n)
          EXPECT_EQ(yg[size_t(t * Ng + n)], y[size_t(t * N + g * Ng + n)]) << "column-parallel shard " << g;
      // activation shard g: each token's columns of group g, quantized alone
      Vec xg(T * Kg), xgq(T * Kg), wcol(N * Kg), part(T * N);
      for (int64_t t = 0; t < T; ++t)
        std::copy_n(x.begin() + t * K + g * Kg, Kg, xg.begin() + t * Kg);
      bitlinear_quantize_input(mode, Mat<const float>(xg.data(), T, Kg), Mat<float>(xgq.data(), T, Kg), pool);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t k = 0; k < Kg; ++k)
          EXPECT_EQ(xgq[size_t(t * Kg + k)], xq[size_t(t * K + g * Kg + k)]) << "input group " << g;
      for (int64_t n = 0; n < N; ++n) std::copy_n(wq.begin() + n * K + g * Kg, Kg, wcol.begin() + n * Kg);
      bitlinear_forward(Mat<const float>(xgq.data(), T, Kg), Mat<const float>(wcol.data(), N, Kg),
                        Mat<float>(part.data(), T, N), pool);
      for (size_t i = 0; i < y_sum.size(); ++i) y_sum[i] += part[i];
    }
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y_sum[i], y[i], 1e-4 * (1 + std::fabs(y[i]))) << i;
  }
  EXPECT_THROW(bitlinear_quantize_weight_groups(WeightMode::kTernary, Mat<const float>(w.data(), N, K),
                                                Mat<float>(Vec(N * K).data(), N, K), 3),
               UserError);
}

// ops/exp_lanes.h promises exp within 2 ulp of exp on [-87.3, 0] and 0 below, on every ISA
// (the sweep is one array, so the SIMD kernels also take their masked tails).
TEST(TrainSoftmax, ExpIsWithinTwoUlpOfExpOnEveryIsa) {
  Vec xs;
  for (float x = -87.3f; x <= 0.0f; x += 0.000731f) xs.push_back(x);
  xs.insert(xs.end(), {0.0f, -87.31f, -88.0f, -1e30f});
  for (const ExpKernels* k : runnable_exp_kernels()) {
    Vec got = xs;
    k->exp_inplace(got.data(), int64_t(got.size()));
    for (size_t i = 0; i < xs.size(); ++i) {
      const float want = xs[i] < -87.3f ? 0.0f : float(std::exp(double(xs[i])));
      const int ulp = std::abs(std::bit_cast<int32_t>(got[i]) - std::bit_cast<int32_t>(want));
      ASSERT_LE(ulp, 2) << k->isa << " exp(" << xs[i] << ") = " << got[i] << ", want " << want;
    }
  }
  Vec row = {0.5f, -3.0f, 2.0f, 1.0f, 0.0f, -1.0f, 4.0f, 3.5f, -2.0f, 1.5f, 0.25f};  // 8 lanes + tail
  Vec want = row;
  for (float& v : want) v *= 0.7f;
  softmax_forward(Mat<float>(want.data(), 1, int64_t(want.size())));
  softmax_scaled_row(row.data(), int64_t(row.size()), 0.7f);
  for (size_t i = 0; i < row.size(); ++i) EXPECT_NEAR(row[i], want[i], 1e-7) << i;
}

TEST(CrossEntropy, LossAndGradientMatchFiniteDifferences) {
  ThreadPool pool(2);
  const int64_t T = 4, V = 10;
  Vec z = random_vec(T * V, 21, 3.0);
  const std::vector<int32_t> targets = {3, 0, -1, 9};  // -1: ignored position
  auto loss = [&] { return cross_entropy_loss(Mat<const float>(z.data(), T, V), targets, pool); };
  double ref = 0;
  for (int64_t t = 0; t < T; ++t) {
    if (targets[t] < 0) continue;
    double s = 0;
    for (int64_t i = 0; i < V; ++i) s += std::exp(double(z[t * V + i]));
    ref += std::log(s) - z[t * V + targets[t]];
  }
  EXPECT_NEAR(loss(), ref, 1e-6 * std::fabs(ref));  // float exp (<= 2 ulp), double sum and log
  Vec grad = z;
  const double fused = cross_entropy_forward_backward(Mat<float>(grad.data(), T, V), targets,
                                                      0.5f, pool);
  EXPECT_DOUBLE_EQ(fused, loss());
  for (size_t i = 0; i < z.size(); ++i) {
    const float saved = z[i];
    z[i] = saved + 1e-2f;
    const double up = loss();
    z[i] = saved - 1e-2f;
    const double down = loss();
    z[i] = saved;
    ASSERT_NEAR(grad[i], 0.5 * (up - down) / 2e-2, 1e-4) << i;
  }
}

// The elastic quantizer's gradients are those of LSQ's straight-through surrogate (Esser et al. 2020,
// eq. 3-5; what torch autograd computes for alpha * (round_pass(clamp(x / alpha, -127, 127)))):
//   g(x, alpha) = alpha * clip(x / alpha, -127, 127) + alpha * C,  C = round(u) - clip(u) frozen,
// so central differences of g in x and alpha (C held at the base point) must match the backward,
// dalpha scaled by 1/sqrt(cols * 127). Inputs span the clip range on both sides.
TEST(ElasticQuantizer, GradientsMatchFiniteDifferencesOfTheLsqSurrogate) {
  const int64_t T = 5, K = 24;
  Vec x = random_vec(size_t(T * K), 41, 1.0);
  x[3] = 9.0f;  // outside the clip range: zero dx, dalpha gets +127
  x[30] = -7.5f;
  const Vec r = random_vec(size_t(T * K), 42);
  const float alpha = 0.05f;  // clip at +-6.35
  ThreadPool pool(2);
  // forward: x_q = alpha * round-clip; also the int8 codes
  Vec xq(x.size());
  QuantizedActivations xi;
  elastic_quantize_input({x.data(), T, K}, alpha, {xq.data(), T, K}, &xi, pool);
  int outside = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < K; ++i) {
      const float v = x[size_t(t * K + i)], q = float(xi.q[size_t(t * xi.stride + i)]);
      EXPECT_EQ(q, std::clamp(std::nearbyint(v / alpha), -127.0f, 127.0f)) << t << "," << i;
      EXPECT_FLOAT_EQ(xq[size_t(t * K + i)], q * alpha);
      EXPECT_FLOAT_EQ(xi.scale[size_t(t)], 1.0f / alpha);
      outside += std::fabs(v / alpha) > 127;
    }
  EXPECT_GE(outside, 2);
  Vec dx = r;
  const float dalpha = elastic_quantize_backward({x.data(), T, K}, alpha, {dx.data(), T, K}, pool);
  // The surrogate in double, C frozen at (x, alpha).
  std::vector<double> C(x.size());
  for (size_t j = 0; j < x.size(); ++j) {
    const double u = std::clamp(double(x[j]) / alpha, -127.0, 127.0);
    C[j] = double(xi.q[size_t(int64_t(j) / K * xi.stride + int64_t(j) % K)]) - u;
  }
  auto loss = [&](const Vec& xs, double a) {
    double L = 0;
    for (size_t j = 0; j < xs.size(); ++j) L += r[j] * (a * std::clamp(double(xs[j]) / a, -127.0, 127.0) + a * C[j]);
    return L;
  };
  const double h = 1e-4;
  const double fd_alpha = (loss(x, alpha + h) - loss(x, alpha - h)) / (2 * h) / std::sqrt(double(K) * 127);
  EXPECT_NEAR(dalpha, fd_alpha, 1e-3 * std::fabs(fd_alpha) + 1e-4);
  for (size_t j = 0; j < x.size(); ++j) {
    Vec up = x, down = x;
    up[j] += 1e-3f;
    down[j] -= 1e-3f;
    const double fd = (loss(up, alpha) - loss(down, alpha)) / (double(up[j]) - double(down[j]));
    EXPECT_NEAR(dx[j], fd, 1e-3) << j;
  }
  EXPECT_EQ(dx[3], 0.0f);
  EXPECT_EQ(dx[30], 0.0f);
  // The same dalpha whatever the thread count (row sums added in order).
  for (int threads : {1, 3}) {
    ThreadPool p(threads);
    Vec d2 = r;
    EXPECT_EQ(elastic_quantize_backward({x.data(), T, K}, alpha, {d2.data(), T, K}, p), dalpha);
    EXPECT_EQ(d2, dx);
  }
}

}  // namespace
}  // namespace bitlm
