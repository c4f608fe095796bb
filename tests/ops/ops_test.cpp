// tests/ops/ops_test.cpp — the forward ops against double-precision references written out
// longhand here (independent of the implementation's loop structure).
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "core/fp16.h"
#include "core/rng.h"
#include "core/cpu.h"
#include "ops/attention.h"
#include "ops/ops.h"

namespace bitlm {
namespace {

std::vector<float> random_vec(size_t n, uint64_t seed, double sd = 1.0) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.normal() * sd);
  return v;
}

TEST(RmsNorm, MatchesDoubleReference) {
  const int64_t T = 3, D = 37;
  auto x = random_vec(T * D, 1), g = random_vec(D, 2);
  std::vector<float> y(T * D), rstd(T);
  rms_norm_forward(Mat<const float>(x.data(), T, D), g, 1e-5f, Mat<float>(y.data(), T, D), rstd);
  for (int64_t t = 0; t < T; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < D; ++i) ss += double(x[t * D + i]) * x[t * D + i];
    const double r = 1.0 / std::sqrt(ss / D + 1e-5);
    EXPECT_NEAR(rstd[t], r, 1e-6 * r);
    for (int64_t i = 0; i < D; ++i) EXPECT_NEAR(y[t * D + i], x[t * D + i] * r * g[i], 1e-5);
  }
}

TEST(RmsNorm, WorksInPlace) {
  const int64_t D = 16;
  auto x = random_vec(D, 3), g = random_vec(D, 4);
  std::vector<float> y(D);
  rms_norm_forward(Mat<const float>(x.data(), 1, D), g, 1e-5f, Mat<float>(y.data(), 1, D));
  rms_norm_forward(Mat<const float>(x.data(), 1, D), g, 1e-5f, Mat<float>(x.data(), 1, D));
  EXPECT_EQ(x, y);
}

// RoPE as a complex rotation, written independently for both pairings.
void rope_reference(std::vector<float>& x, int H, int Dh, const std::vector<int32_t>& pos,
                    double theta, bool neox) {
  for (size_t t = 0; t < pos.size(); ++t)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < Dh / 2; ++i) {
        const int a = neox ? i : 2 * i, b = neox ? i + Dh / 2 : 2 * i + 1;
        float* v = &x[(t * H + h) * Dh];
        const double ang = pos[t] / std::pow(theta, 2.0 * i / Dh);
        const double re = v[a], im = v[b];
        v[a] = float(re * std::cos(ang) - im * std::sin(ang));
        v[b] = float(re * std::sin(ang) + im * std::cos(ang));
      }
}

TEST(Rope, NeoxAndAdjacentMatchReference) {
  const int H = 3, Dh = 8;
  const std::vector<int32_t> pos = {0, 1, 7, 4000};
  for (bool neox : {true, false}) {
    auto x = random_vec(pos.size() * H * Dh, 5), ref = x;
    rope_forward(Mat<float>(x.data(), int64_t(pos.size()), H * Dh), H, Dh, pos, 500000.0f, neox);
    rope_reference(ref, H, Dh, pos, 500000.0, neox);
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], ref[i], 2e-6) << neox << " " << i;
  }
}

TEST(Rope, PositionZeroIsIdentityAndNormIsKept) {
  const int H = 2, Dh = 16;
  auto x = random_vec(2 * H * Dh, 6), orig = x;
  const std::vector<int32_t> pos = {0, 123};
  rope_forward(Mat<float>(x.data(), 2, H * Dh), H, Dh, pos, 10000.0f, true);
  for (int i = 0; i < H * Dh; ++i) EXPECT_EQ(x[i], orig[i]);
  double n0 = 0, n1 = 0;
  for (int i = H * Dh; i < 2 * H * Dh; ++i) n0 += orig[i] * orig[i], n1 += x[i] * x[i];
  EXPECT_NEAR(n0, n1, 1e-4);
}

TEST(Softmax, MatchesReferenceAndHandlesHugeValues) {
  std::vector<float> x = {1.0f, 2.0f, 3.0f, 1000.0f, 1001.0f, -INFINITY};
  softmax_forward(Mat<float>(x.data(), 2, 3));
  const double e = std::exp(1.0), s = 1 + e + e * e;
  EXPECT_NEAR(x[0], 1 / s, 1e-7);
  EXPECT_NEAR(x[2], e * e / s, 1e-7);
  EXPECT_NEAR(x[3], 1 / (1 + e), 1e-7);
  EXPECT_EQ(x[5], 0.0f);
}

TEST(Glu, SiluAndSquaredRelu) {
  const std::vector<float> g = {-2.0f, -0.5f, 0.0f, 0.5f, 3.0f}, u = {1.5f, -1.0f, 2.0f, 4.0f, -0.25f};
  std::vector<float> a(5), b(5);
  swiglu_forward(Mat<const float>(g.data(), 1, 5), Mat<const float>(u.data(), 1, 5), Mat<float>(a.data(), 1, 5));
  relu2_glu_forward(Mat<const float>(g.data(), 1, 5), Mat<const float>(u.data(), 1, 5), Mat<float>(b.data(), 1, 5));
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(a[i], g[i] / (1 + std::exp(-double(g[i]))) * u[i], 1e-6);
    EXPECT_EQ(b[i], g[i] > 0 ? g[i] * g[i] * u[i] : 0.0f);
  }
}

// Causal GQA attention in double, computed the textbook way with a full masked score matrix.
std::vector<double> attention_reference(const std::vector<float>& q, const std::vector<float>& k,
                                        const std::vector<float>& v, int T, int H, int Hkv, int Dh) {
  std::vector<double> out(size_t(T) * H * Dh, 0.0);
  for (int h = 0; h < H; ++h) {
    const int hk = h / (H / Hkv);
    for (int t = 0; t < T; ++t) {
      std::vector<double> s(T, -INFINITY);
      double mx = -INFINITY, sum = 0;
      for (int p = 0; p <= t; ++p) {
        double d = 0;
        for (int i = 0; i < Dh; ++i) d += double(q[(t * H + h) * Dh + i]) * k[(p * Hkv + hk) * Dh + i];
        s[p] = d / std::sqrt(double(Dh));
        mx = std::max(mx, s[p]);
      }
      for (int p = 0; p <= t; ++p) sum += std::exp(s[p] - mx);
      for (int p = 0; p <= t; ++p)
        for (int i = 0; i < Dh; ++i)
          out[(t * H + h) * Dh + i] += std::exp(s[p] - mx) / sum * v[(p * Hkv + hk) * Dh + i];
    }
  }
  return out;
}

TEST(Attention, CausalGqaMatchesReference) {
  const int T = 5, H = 4, Hkv = 2, Dh = 8;
  auto q = random_vec(T * H * Dh, 7), k = random_vec(T * Hkv * Dh, 8), v = random_vec(T * Hkv * Dh, 9);
  std::vector<float> out(T * H * Dh), scores(T);
  attention_forward(Mat<const float>(q.data(), T, H * Dh), Mat<const float>(k.data(), T, Hkv * Dh),
                    Mat<const float>(v.data(), T, Hkv * Dh), H, Hkv, Dh,
                    Mat<float>(out.data(), T, H * Dh), scores.data());
  const auto ref = attention_reference(q, k, v, T, H, Hkv, Dh);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], ref[i], 1e-5) << i;
}

// The f16 head may run the AVX2/F16C kernels (other summation order): equal within rounding.
// Shapes cover the 64-wide register tile, the 8-wide tail and a KV row stride wider than a head.
TEST(Attention, F16KvEqualsF32OnHalfRepresentableValues) {
  for (auto [n_pos, Dh, stride] : {std::tuple<int, int, int>{9, 16, 16}, {300, 128, 640}, {5, 24, 48}}) {
    auto q = random_vec(Dh, 10), k = random_vec(n_pos * stride, 11), v = random_vec(n_pos * stride, 12);
    std::vector<uint16_t> kh(k.size()), vh(v.size());
    for (size_t i = 0; i < k.size(); ++i) {
      kh[i] = f32_to_fp16(k[i]), k[i] = fp16_to_f32(kh[i]);
      vh[i] = f32_to_fp16(v[i]), v[i] = fp16_to_f32(vh[i]);
    }
    std::vector<float> a(Dh), b(Dh), scores(n_pos);
    attention_head_forward(q.data(), k.data(), v.data(), stride, n_pos, Dh, scores.data(), a.data());
    attention_head_forward_f16(q.data(), kh.data(), vh.data(), stride, n_pos, Dh, scores.data(), b.data());
    for (int i = 0; i < Dh; ++i) EXPECT_NEAR(a[size_t(i)], b[size_t(i)], 1e-5) << "Dh " << Dh << " i " << i;
  }
}

// Every f16 attention ISA this CPU runs (the head picks one; BITLM_ISA=ref forces the first):
// its two passes equal ref's within rounding, and the ref passes are the head's exact floats.
TEST(Attention, F16PassesOfEveryIsaMatchRef) {
  const auto kernels = runnable_f16_attention_kernels();
  ASSERT_EQ(kernels.front()->isa, "ref");
  if (cpu_runs_isa("avx2") && cpu_features().f16c) {
    EXPECT_EQ(kernels.back()->isa, "avx2");
  }
  for (auto [n_pos, Dh, stride] : {std::tuple<int, int, int>{9, 16, 16}, {300, 128, 640}, {5, 72, 80}}) {
    const auto q = random_vec(Dh, 20), k = random_vec(n_pos * stride, 21), v = random_vec(n_pos * stride, 22);
    std::vector<uint16_t> kh(k.size()), vh(v.size());
    for (size_t i = 0; i < k.size(); ++i) kh[i] = f32_to_fp16(k[i]), vh[i] = f32_to_fp16(v[i]);
    const float scale = 0.125f;
    std::vector<float> ref_scores(n_pos), ref_out(Dh), w = random_vec(n_pos, 23);
    for (float& x : w) x = std::fabs(x) / float(n_pos);  // weights as a softmax's: positive, sum ~1
    kernels.front()->scores(q.data(), kh.data(), stride, n_pos, Dh, scale, ref_scores.data());
    kernels.front()->mix(w.data(), vh.data(), stride, n_pos, Dh, ref_out.data());
    for (const F16AttentionKernels* kern : kernels) {
      std::vector<float> scores(n_pos), out(Dh);
      kern->scores(q.data(), kh.data(), stride, n_pos, Dh, scale, scores.data());
      kern->mix(w.data(), vh.data(), stride, n_pos, Dh, out.data());
      for (int p = 0; p < n_pos; ++p)
        EXPECT_NEAR(scores[size_t(p)], ref_scores[size_t(p)], 1e-5 * (1 + std::fabs(ref_scores[size_t(p)])))
            << kern->isa << " p " << p;
      for (int i = 0; i < Dh; ++i)
        EXPECT_NEAR(out[size_t(i)], ref_out[size_t(i)], 1e-5 * (1 + std::fabs(ref_out[size_t(i)])))
            << kern->isa << " i " << i;
    }
    // the head on ref passes: exactly the f32 head's floats on the same (half-representable) values
    if (requested_isa() == "ref") {
      std::vector<float> kf(k.size()), vf(v.size()), a(Dh), b(Dh), sc(n_pos);
      for (size_t i = 0; i < k.size(); ++i) kf[i] = fp16_to_f32(kh[i]), vf[i] = fp16_to_f32(vh[i]);
      attention_head_forward(q.data(), kf.data(), vf.data(), stride, n_pos, Dh, sc.data(), a.data());
      attention_head_forward_f16(q.data(), kh.data(), vh.data(), stride, n_pos, Dh, sc.data(), b.data());
      EXPECT_EQ(a, b) << "BITLM_ISA=ref: the f16 head must run the reference passes";
    }
  }
}

}  // namespace
}  // namespace bitlm
