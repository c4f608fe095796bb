// tests/quant/ptq_test.cpp — the post-training quantizers against their PyTorch twin
// (tools/reference/ptq_reference.py -> tests/data/ref/ptq.safetensors): absmax weights and
// activations at 8 / 4 bits and BitNet's 1.58 / 1-bit quantizers applied after training equal to
// float rounding; GPTQ (per row, per group; 4, 3 and 2 bits) within 1e-5. Plus what makes GPTQ
// GPTQ: on correlated inputs its output error ||XWᵀ − XQᵀ|| is below plain rounding's on the same grid.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "io/safetensors.h"
#include "quant/ptq.h"

namespace bitlm {
namespace {

const std::string kRef = std::string(BITLM_TEST_DATA_DIR) + "/ref/ptq.safetensors";
constexpr int64_t kRows = 12, kCols = 32, kN = 64;

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::fabs(double(a[i]) - double(b[i])));
  return d;
}

std::vector<double> hessian(const std::vector<float>& x) {
  std::vector<double> h(size_t(kCols * kCols), 0.0);
  gptq_accumulate(h, kCols, x.data(), kN);
  for (double& v : h) v /= double(kN);
  return h;
}

// ||X Wᵀ − X Qᵀ||² summed over the batch.
double output_error(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& q) {
  double e = 0;
  for (int64_t t = 0; t < kN; ++t)
    for (int64_t r = 0; r < kRows; ++r) {
      double d = 0;
      for (int64_t c = 0; c < kCols; ++c) d += double(x[size_t(t * kCols + c)]) * (w[size_t(r * kCols + c)] - q[size_t(r * kCols + c)]);
      e += d * d;
    }
  return e;
}

TEST(Ptq, AbsmaxMatchesThePyTorchReference) {
  const auto ref = SafetensorsFile::open(kRef);
  const std::vector<float> w = ref->read_f32("w"), x = ref->read_f32("x");
  for (int bits : {8, 4}) {
    std::vector<float> wq = w, xq = x;
    ptq_absmax_weights(wq, kRows, kCols, bits);
    fake_quant_absmax_rows(xq, kN, kCols, bits);
    EXPECT_LE(max_abs_diff(wq, ref->read_f32(fmt::format("absmax_w{}", bits))), 1e-7) << bits;
    EXPECT_LE(max_abs_diff(xq, ref->read_f32(fmt::format("absmax_a{}", bits))), 1e-6) << bits;
  }
  for (const char* bits : {"1.58", "1"}) {
    std::vector<float> wq = w;
    ptq_absmax_weights(wq, kRows, kCols, std::stod(bits));
    EXPECT_LE(max_abs_diff(wq, ref->read_f32(std::string("absmax_w") + bits)), 1e-7) << bits;
  }
  std::vector<float> bad = w;
  EXPECT_THROW(ptq_absmax_weights(bad, kRows, kCols, 2.5), UserError);
}

TEST(Ptq, GptqMatchesThePyTorchReferenceWithin1e5) {
  const auto ref = SafetensorsFile::open(kRef);
  const std::vector<float> w = ref->read_f32("w"), x = ref->read_f32("x");
  const std::vector<double> h = hessian(x);
  for (auto [bits, group] : {std::pair{4, 0}, {2, 0}, {4, 8}, {3, 16}}) {
    const std::vector<float> q = gptq_quantize(w, kRows, kCols, h, {.bits = bits, .group_size = group});
    EXPECT_LE(max_abs_diff(q, ref->read_f32(fmt::format("gptq_w{}_g{}", bits, group))), 1e-5) << bits << " " << group;
    for (int64_t r = 0; r < kRows; ++r) EXPECT_EQ(q[size_t(r * kCols + 5)], 0.0f);  // the dead input
  }
}

TEST(Ptq, GptqErrorFeedbackBeatsRoundingToTheSameGrid) {
  const auto ref = SafetensorsFile::open(kRef);
  const std::vector<float> w = ref->read_f32("w"), x = ref->read_f32("x");
  std::vector<double> h = hessian(x);
  const std::vector<float> q = gptq_quantize(w, kRows, kCols, h, {.bits = 3});
  // Rounding to nearest on the same per-row grid is GPTQ with an identity Hessian (no feedback).
  std::vector<double> eye(size_t(kCols * kCols), 0.0);
  for (int64_t i = 0; i < kCols; ++i) eye[size_t(i * kCols + i)] = 1;
  std::vector<float> w_live = w;
  for (int64_t r = 0; r < kRows; ++r) w_live[size_t(r * kCols + 5)] = 0;
  const std::vector<float> rtn = gptq_quantize(w_live, kRows, kCols, eye, {.bits = 3});
  EXPECT_LT(output_error(x, w, q), 0.8 * output_error(x, w, rtn));
}

}  // namespace
}  // namespace bitlm
