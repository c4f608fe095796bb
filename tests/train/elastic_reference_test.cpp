// tests/train/elastic_reference_test.cpp — the elastic activation quantizer (003 Table 9, BiT / LSQ)
// against its PyTorch twin (tools/reference/elastic_reference.py -> tests/data/ref/elastic.safetensors),
// where the backward comes from autograd through LSQ's grad_scale / round_pass rather than from a
// formula: the codes and x_q, dL/dx (straight-through inside the clip range, 0 outside) and dL/dalpha
// (LSQ's gradient scale included).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "io/safetensors.h"
#include "ops/ops_backward.h"

namespace bitlm {
namespace {

const std::string kRef = std::string(BITLM_TEST_DATA_DIR) + "/ref/elastic.safetensors";
constexpr int64_t kT = 8, kK = 48;

TEST(ElasticReference, ForwardAndBackwardMatchPyTorchAutograd) {
  const auto ref = SafetensorsFile::open(kRef);
  const std::vector<float> x = ref->read_f32("x"), dy = ref->read_f32("dy"), xq_ref = ref->read_f32("x_q"),
                           dx_ref = ref->read_f32("dx");
  const float alpha = ref->read_f32("alpha").at(0), dalpha_ref = ref->read_f32("dalpha").at(0);
  ASSERT_EQ(x.size(), size_t(kT * kK));
  ThreadPool pool(2);
  std::vector<float> xq(x.size());
  elastic_quantize_input({x.data(), kT, kK}, alpha, {xq.data(), kT, kK}, nullptr, pool);
  int clipped = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    // Same codes; x_q = q / (1/alpha) here, q * alpha in PyTorch: equal up to one rounding.
    EXPECT_NEAR(xq[i], xq_ref[i], 2e-7 * std::fabs(xq_ref[i]) + 1e-12) << i;
    EXPECT_EQ(std::nearbyint(xq[i] / alpha), std::nearbyint(xq_ref[i] / alpha)) << i;
    clipped += dx_ref[i] == 0.0f && dy[i] != 0.0f;
  }
  EXPECT_GE(clipped, 2);  // the reference exercises the clip bound's gradient
  std::vector<float> dx = dy;
  const float dalpha = elastic_quantize_backward({x.data(), kT, kK}, alpha, {dx.data(), kT, kK}, pool);
  // dy or 0; autograd forms it as (dy * alpha) * (1 / alpha), one rounding from dy.
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(dx[i], dx_ref[i], 2e-7 * std::fabs(dx_ref[i])) << i;
  EXPECT_NEAR(dalpha, dalpha_ref, 1e-5 * std::fabs(dalpha_ref)) << dalpha << " vs " << dalpha_ref;
}

}  // namespace
}  // namespace bitlm
