// tests/eval/cost_report_test.cpp — the measured cost table on the tiny-bitnet fixture (F32 vs
// TQ2_0 files of the same weights) and the size plot's SVG structure.
#include <gtest/gtest.h>

#include "eval/cost_report.h"
#include "io/gguf.h"

namespace bitlm {
namespace {

const std::string kDir = std::string(BITLM_SHARED_DIR) + "/fixtures/tiny-bitnet/";

CostOptions quick() { return {.n_prompt = 16, .n_generate = 4, .repetitions = 1}; }

TEST(CostReport, WeightKindFollowsTheLinearTensorType) {
  EXPECT_EQ(weight_kind_of(*GgufFile::open(kDir + "tiny-bitnet-F32.gguf")), WeightKind::kFp32);
  EXPECT_EQ(weight_kind_of(*GgufFile::open(kDir + "tiny-bitnet-TQ2_0.gguf")), WeightKind::kBitnet);
  EXPECT_EQ(weight_kind_of(*GgufFile::open(kDir + "tiny-bitnet-I2_S.gguf")), WeightKind::kBitnet);
}

TEST(CostReport, MeasuresTheFixtureAndComparesToTheBaseline) {
  ThreadPool pool(1);
  const ModelCost f32 = measure_cost(kDir + "tiny-bitnet-F32.gguf", pool, quick());
  const ModelCost t2 = measure_cost(kDir + "tiny-bitnet-TQ2_0.gguf", pool, quick());
  EXPECT_EQ(t2.shape.n_embd, 256);
  EXPECT_EQ(t2.shape.n_layer, 2);
  EXPECT_EQ(t2.shape.n_linear_params(), 2 * (256 * 256 * 2 + 128 * 256 * 2 + 3 * 768 * 256));
  EXPECT_DOUBLE_EQ(f32.linear_bits_per_weight, 32.0);
  EXPECT_NEAR(t2.linear_bits_per_weight, 2.0625, 1e-9);  // TQ2_0: 66 bytes per 256 weights
  EXPECT_EQ(f32.linear_bytes, uint64_t(t2.shape.n_linear_params()) * 4);
  EXPECT_GT(f32.weight_bytes, t2.weight_bytes);
  EXPECT_EQ(t2.kv_bytes_per_sequence, uint64_t(2 * 2 * 128 * 512 * 2));  // K+V, layers, kv_dim, 512, f16
  EXPECT_GT(t2.ms_per_token, 0);
  EXPECT_GT(t2.prompt_tokens_per_s, 0);
  EXPECT_EQ(t2.max_batch, int64_t((quick().budget_bytes - t2.weight_bytes) / t2.kv_bytes_per_sequence));
  EXPECT_LT(t2.energy_7nm.total(), f32.energy_7nm.total());
  EXPECT_LT(t2.energy_7nm.total(), t2.energy_45nm.total());
  const std::string md = cost_report_markdown({f32, t2}, quick());
  EXPECT_NE(md.find("| tiny-bitnet-F32.gguf | FP32 | 32.00 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| tiny-bitnet-TQ2_0.gguf | ternary | 2.06 |"), std::string::npos) << md;
  EXPECT_EQ(std::count(md.begin(), md.end(), '\n'), 2 + 2 + 2);
}

TEST(CostReport, SizePlotHasBothPanelsAndEveryShape) {
  ModelCost c;
  c.shape = {"t", 256, 768, 2, 4, 2, 64, 32000, true};
  c.weight_bytes = 8 << 20;
  c.memory_bytes = 16 << 20;
  c.ms_per_token = 2.0;
  const std::string svg = size_plot_svg({c});
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("Decoding latency (at 4.2 GB/s"), std::string::npos) << svg.substr(0, 400);  // 8 MiB / 2 ms
  EXPECT_NE(svg.find("Memory"), std::string::npos);
  size_t polylines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) ++polylines;
  EXPECT_EQ(polylines, 4u);  // b1.58 and FP16, in each panel
  size_t circles = 0;
  for (size_t p = svg.find("<circle"); p != std::string::npos; p = svg.find("<circle", p + 1)) ++circles;
  EXPECT_EQ(circles, 2u * (7 + 7 + 1));  // 7 paper shapes per series, one measured point per panel
}

}  // namespace
}  // namespace bitlm
