// tests/ops/attention_quant_test.cpp — the q8/q4 KV blocks: codes of known inputs, the round-trip
// error bound, every ISA's passes against the reference, and the whole head against the f32 head
// on the dequantized rows (odd head sizes and partial blocks included).
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "core/fp16.h"
#include "core/rng.h"
#include "ops/attention.h"
#include "ops/attention_quant.h"

namespace bitlm {
namespace {

std::vector<float> random_vec(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.normal());
  return v;
}

TEST(KvQuant, KnownCodes) {
  std::vector<float> x(40);
  for (int i = 0; i < 40; ++i) x[size_t(i)] = float(i % 16) - 8;  // block 0: d = 1 exactly; block 1 partial
  x[3] = 127;
  std::vector<KvBlockQ8> b8(2);
  quantize_kv_q8(x.data(), 40, b8.data());
  EXPECT_EQ(fp16_to_f32(b8[0].d), 1.0f);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(b8[0].q[j], int(x[size_t(j)]));
  for (int j = 8; j < 32; ++j) EXPECT_EQ(b8[1].q[j], 0) << "padding";

  x[3] = -8;  // now every block's signed absmax is -8: q4's d = 1, codes x + 8
  std::vector<KvBlockQ4> b4(2);
  quantize_kv_q4(x.data(), 40, b4.data());
  EXPECT_EQ(fp16_to_f32(b4[0].d), 1.0f);
  std::vector<float> back(40);
  dequantize_kv_q4(b4.data(), 40, back.data());
  for (int i = 0; i < 40; ++i) EXPECT_EQ(back[size_t(i)], x[size_t(i)]) << i;
  EXPECT_EQ(b4[0].q[0], 0 | (0 << 4));   // values 0 and 16: both -8
  EXPECT_EQ(b4[0].q[1], 1 | (1 << 4));   // values 1 and 17: both -7
  EXPECT_EQ(b4[1].q[8], 8 | (8 << 4)) << "padding is code 8 (value 0)";
}

// Round to nearest: |x - x'| <= d / 2 per value (q4: d on the side opposite the absmax, where +8
// clamps to 7), plus the f16 rounding of d times the code.
TEST(KvQuant, RoundTripErrorBound) {
  const int n = 200;
  const auto x = random_vec(n, 3);
  std::vector<KvBlockQ8> b8(size_t(kv_blocks_per_head(n)));
  std::vector<KvBlockQ4> b4(b8.size());
  quantize_kv_q8(x.data(), n, b8.data());
  quantize_kv_q4(x.data(), n, b4.data());
  std::vector<float> y8(n), y4(n);
  dequantize_kv_q8(b8.data(), n, y8.data());
  dequantize_kv_q4(b4.data(), n, y4.data());
  for (int i = 0; i < n; ++i) {
    const float d8 = fp16_to_f32(b8[size_t(i / 32)].d), d4 = std::fabs(fp16_to_f32(b4[size_t(i / 32)].d));
    EXPECT_LE(std::fabs(x[size_t(i)] - y8[size_t(i)]), 0.5f * d8 + 1e-3f * std::fabs(x[size_t(i)])) << i;
    EXPECT_LE(std::fabs(x[size_t(i)] - y4[size_t(i)]), 1.0f * d4 + 1e-3f * std::fabs(x[size_t(i)])) << i;
  }
}

template <typename Block>
std::vector<Block> quantize_rows(const std::vector<float>& x, int n_rows, int row_len,
                                 void (*quantize)(const float*, int, Block*)) {
  std::vector<Block> out(size_t(n_rows * kv_blocks_per_head(row_len)));
  for (int r = 0; r < n_rows; ++r) quantize(x.data() + r * row_len, row_len, out.data() + r * kv_blocks_per_head(row_len));
  return out;
}

// Shapes: one block, two (the 64-wide mix tile), three (tile + single block), four; a stride of
// several heads (GQA rows) and one position.
template <typename Block>
void expect_passes_match_ref(void (*quantize)(const float*, int, Block*),
                             KvPassKernels<Block> KvAttentionKernels::*type) {
  const auto kernels = runnable_kv_attention_kernels();
  const KvPassKernels<Block>& ref = kernels[0]->*type;
  for (auto [n_pos, Dh, heads] : {std::tuple{9, 32, 1}, {300, 128, 5}, {1, 64, 2}, {37, 96, 3}}) {
    const int row = Dh * heads, stride = heads * kv_blocks_per_head(Dh);
    const auto w = random_vec(size_t(n_pos), 12);
    const auto q = quantize_rows<KvBlockQ8>(random_vec(size_t(Dh), 10), 1, Dh, quantize_kv_q8);
    const auto kv = quantize_rows<Block>(random_vec(size_t(n_pos * row), 11), n_pos, row, quantize);
    const Block* head1 = kv.data() + (heads - 1) * kv_blocks_per_head(Dh);  // the last head of each row
    std::vector<float> s_ref(static_cast<size_t>(n_pos)), o_ref(static_cast<size_t>(Dh));
    ref.scores(q.data(), head1, stride, n_pos, Dh, 0.125f, s_ref.data());
    ref.mix(w.data(), head1, stride, n_pos, Dh, o_ref.data());
    for (const KvAttentionKernels* k : kernels) {
      std::vector<float> s(static_cast<size_t>(n_pos)), o(static_cast<size_t>(Dh));
      (k->*type).scores(q.data(), head1, stride, n_pos, Dh, 0.125f, s.data());
      (k->*type).mix(w.data(), head1, stride, n_pos, Dh, o.data());
      for (int p = 0; p < n_pos; ++p)
        EXPECT_NEAR(s[size_t(p)], s_ref[size_t(p)], 1e-5f * (1 + std::fabs(s_ref[size_t(p)]))) << k->isa << " p " << p;
      for (int i = 0; i < Dh; ++i)
        EXPECT_NEAR(o[size_t(i)], o_ref[size_t(i)], 1e-5f * (1 + std::fabs(o_ref[size_t(i)]))) << k->isa << " i " << i;
    }
  }
}

TEST(KvQuant, Q8PassesOfEveryIsaMatchRef) { expect_passes_match_ref<KvBlockQ8>(quantize_kv_q8, &KvAttentionKernels::q8); }
TEST(KvQuant, Q4PassesOfEveryIsaMatchRef) { expect_passes_match_ref<KvBlockQ4>(quantize_kv_q4, &KvAttentionKernels::q4); }

// The quantized head computes the f32 head's math on the dequantized rows and the dequantized q8
// query, whatever head_dim (odd sizes run the reference with a partial last block).
template <typename Block>
void expect_head_matches_f32(void (*quantize)(const float*, int, Block*),
                             void (*dequantize)(const Block*, int, float*),
                             void (*head)(const float*, const Block*, const Block*, int64_t, int64_t, int, float*,
                                          float*)) {
  for (auto [n_pos, Dh] : {std::tuple{9, 24}, {50, 40}, {17, 64}, {130, 128}, {3, 72}}) {
    const int row = 2 * Dh, bph = kv_blocks_per_head(Dh);
    const auto q = random_vec(size_t(Dh), 20);
    std::vector<KvBlockQ8> qb(static_cast<size_t>(bph));
    std::vector<float> qf(q.size());
    quantize_kv_q8(q.data(), Dh, qb.data());
    dequantize_kv_q8(qb.data(), Dh, qf.data());
    std::vector<Block> k(size_t(n_pos * 2 * bph)), v(k.size());
    std::vector<float> kf(size_t(n_pos * row)), vf(kf.size());
    const auto kx = random_vec(kf.size(), 21), vx = random_vec(vf.size(), 22);
    for (int p = 0; p < n_pos; ++p)
      for (int h = 0; h < 2; ++h) {  // per head, as the cache stores it
        const size_t x0 = size_t(p * row + h * Dh), b0 = size_t((p * 2 + h) * bph);
        quantize(kx.data() + x0, Dh, k.data() + b0);
        quantize(vx.data() + x0, Dh, v.data() + b0);
        dequantize(k.data() + b0, Dh, kf.data() + x0);
        dequantize(v.data() + b0, Dh, vf.data() + x0);
      }
    std::vector<float> want(static_cast<size_t>(Dh)), got(want.size()), scores(static_cast<size_t>(n_pos));
    attention_head_forward(qf.data(), kf.data() + Dh, vf.data() + Dh, row, n_pos, Dh, scores.data(), want.data());
    head(q.data(), k.data() + bph, v.data() + bph, 2 * bph, n_pos, Dh, scores.data(), got.data());
    for (int i = 0; i < Dh; ++i) EXPECT_NEAR(got[size_t(i)], want[size_t(i)], 1e-5) << "Dh " << Dh << " i " << i;
  }
}

TEST(KvQuant, Q8HeadEqualsF32HeadOnDequantizedRows) {
  expect_head_matches_f32<KvBlockQ8>(quantize_kv_q8, dequantize_kv_q8, attention_head_forward_q8);
}
TEST(KvQuant, Q4HeadEqualsF32HeadOnDequantizedRows) {
  expect_head_matches_f32<KvBlockQ4>(quantize_kv_q4, dequantize_kv_q4, attention_head_forward_q4);
}

}  // namespace
}  // namespace bitlm
