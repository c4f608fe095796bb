// tests/ops/peer_numerics_test.cpp — the peers' fake-quant steps and attention heads (ops/peer_numerics.h, ops/attention.h) on hand-computed rows.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/fp16.h"
#include "ops/attention.h"
#include "ops/attention_quant.h"
#include "ops/peer_numerics.h"

namespace bitlm {
namespace {

TEST(ActQuant, Q8KUsesTheSignedMaxPerBlockOf256) {
  std::vector<float> x(512, 0.0f);
  x[0] = -2.0f, x[1] = 1.0f, x[2] = 0.3f;  // block 0: max = -2, iscale = 63.5
  x[256] = 4.0f, x[257] = -1.0f;           // block 1: max = +4, iscale = -31.75
  fake_quant_q8_k(Mat<float>(x.data(), 1, 512));
  const float d0 = 1.0f / 63.5f, d1 = 1.0f / -31.75f;
  EXPECT_EQ(x[0], -127 * d0);
  EXPECT_EQ(x[1], 64 * d0);  // 63.5 rounds half to even
  EXPECT_EQ(x[2], 19 * d0);  // 19.05
  EXPECT_EQ(x[256], -127 * d1);
  EXPECT_EQ(x[257], 32 * d1);  // 31.75 -> 32, sign flipped with the scale
  EXPECT_EQ(x[3], 0.0f);
}

TEST(ActQuant, Q8_0StoresItsScaleAsF16) {
  std::vector<float> x(32, 0.0f);
  x[0] = 1.0f, x[1] = -0.5f, x[2] = 0.1f;
  fake_quant_q8_0(Mat<float>(x.data(), 1, 32));
  const float d16 = fp16_to_f32(f32_to_fp16(1.0f / 127.0f));
  EXPECT_EQ(x[0], 127 * d16);
  EXPECT_EQ(x[1], -64 * d16);  // -63.5 -> -64 (half to even)
  EXPECT_EQ(x[2], 13 * d16);   // 12.7
  EXPECT_NE(x[0], 1.0f);       // 1/127 is not an f16: the scale's rounding shows
}

TEST(ActQuant, RoundF16) {
  std::vector<float> x = {1.0f + 1.0f / 4096, 3.0f};
  round_f16(Mat<float>(x.data(), 1, 2));
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_EQ(x[1], 3.0f);
}

// The flash head differs from the two-pass one only by its f16 accumulator: close, not equal.
TEST(ActQuant, FlashF16HeadIsTheSoftmaxAverageUpToF16Rounding) {
  const int n_pos = 5, dh = 4;
  std::vector<float> q = {0.5f, -1.0f, 0.25f, 2.0f}, scores(n_pos), acc(dh), a(dh), b(dh);
  std::vector<uint16_t> k(n_pos * dh), v(n_pos * dh);
  for (int i = 0; i < n_pos * dh; ++i) {
    k[size_t(i)] = f32_to_fp16(float((i * 7) % 11) / 5 - 1);
    v[size_t(i)] = f32_to_fp16(float((i * 5) % 13) / 3 - 2);
  }
  attention_head_peer(q.data(), k.data(), v.data(), dh, n_pos, dh, false, scores.data(), a.data());
  attention_head_flash_f16(q.data(), k.data(), v.data(), dh, n_pos, dh, acc.data(), b.data());
  bool differs = false;
  for (int i = 0; i < dh; ++i) {
    EXPECT_NEAR(a[size_t(i)], b[size_t(i)], 4e-3f * (1 + std::fabs(a[size_t(i)])));
    differs |= a[size_t(i)] != b[size_t(i)];
  }
  EXPECT_TRUE(differs);
  // One position: the output is that V row exactly.
  attention_head_flash_f16(q.data(), k.data(), v.data(), dh, 1, dh, acc.data(), b.data());
  for (int i = 0; i < dh; ++i) EXPECT_EQ(b[size_t(i)], fp16_to_f32(v[size_t(i)]));
}

// attention_head (the forward's one entry point) runs the kernel the storage and numerics name,
// bit for bit: f16 default, probs-f16, flash-f16 (flash wins when both are set), q8, q4.
TEST(ActQuant, AttentionHeadPicksTheKernelOfTheStorageAndNumerics) {
  const int n_pos = 6, dh = 32;
  std::vector<float> q(dh), kf(n_pos * dh), vf(n_pos * dh), scores(dh), want(dh), got(dh);
  std::vector<uint16_t> k(n_pos * dh), v(n_pos * dh);
  for (int i = 0; i < dh; ++i) q[size_t(i)] = float((i * 3) % 7) / 4 - 0.7f;
  for (int i = 0; i < n_pos * dh; ++i) {
    kf[size_t(i)] = float((i * 7) % 11) / 5 - 1;
    vf[size_t(i)] = float((i * 5) % 13) / 3 - 2;
    k[size_t(i)] = f32_to_fp16(kf[size_t(i)]);
    v[size_t(i)] = f32_to_fp16(vf[size_t(i)]);
  }
  const KvHeadView f16 = {KvCacheType::kF16, k.data(), v.data(), dh};
  auto expect_same = [&](const char* what) {
    for (int i = 0; i < dh; ++i) EXPECT_EQ(got[size_t(i)], want[size_t(i)]) << what << " " << i;
  };
  attention_head_forward_f16(q.data(), k.data(), v.data(), dh, n_pos, dh, scores.data(), want.data());
  attention_head(f16, q.data(), n_pos, dh, PeerNumerics{}, scores.data(), got.data());
  expect_same("f16");
  PeerNumerics num;
  num.probs_f16 = true;
  attention_head_peer(q.data(), k.data(), v.data(), dh, n_pos, dh, true, scores.data(), want.data());
  attention_head(f16, q.data(), n_pos, dh, num, scores.data(), got.data());
  expect_same("probs-f16");
  num.flash_f16 = true;
  attention_head_flash_f16(q.data(), k.data(), v.data(), dh, n_pos, dh, scores.data(), want.data());
  attention_head(f16, q.data(), n_pos, dh, num, scores.data(), got.data());
  expect_same("flash-f16");
  std::vector<KvBlockQ8> k8(n_pos), v8(n_pos);
  std::vector<KvBlockQ4> k4(n_pos), v4(n_pos);
  for (int p = 0; p < n_pos; ++p) {
    quantize_kv_q8(kf.data() + p * dh, dh, &k8[size_t(p)]);
    quantize_kv_q8(vf.data() + p * dh, dh, &v8[size_t(p)]);
    quantize_kv_q4(kf.data() + p * dh, dh, &k4[size_t(p)]);
    quantize_kv_q4(vf.data() + p * dh, dh, &v4[size_t(p)]);
  }
  attention_head_forward_q8(q.data(), k8.data(), v8.data(), 1, n_pos, dh, scores.data(), want.data());
  attention_head({KvCacheType::kQ8, k8.data(), v8.data(), 1}, q.data(), n_pos, dh, PeerNumerics{}, scores.data(),
                 got.data());
  expect_same("q8");
  attention_head_forward_q4(q.data(), k4.data(), v4.data(), 1, n_pos, dh, scores.data(), want.data());
  attention_head({KvCacheType::kQ4, k4.data(), v4.data(), 1}, q.data(), n_pos, dh, PeerNumerics{}, scores.data(),
                 got.data());
  expect_same("q4");
}

}  // namespace
}  // namespace bitlm
