// tests/core/ggml_types_test.cpp — storage sizes of the ggml types (ggml-common.h block structs).
#include "core/ggml_types.h"

#include <gtest/gtest.h>

namespace bitlm {
namespace {

TEST(GgmlTypes, BlockSizesMatchGgml) {
  struct Row { uint32_t type; uint32_t elems, bytes; };
  for (const Row r : {Row{kGgmlF32, 1, 4}, {kGgmlF16, 1, 2}, {kGgmlBF16, 1, 2}, {kGgmlF64, 1, 8}, {kGgmlI8, 1, 1},
                      {kGgmlI16, 1, 2}, {kGgmlI32, 1, 4}, {kGgmlI64, 1, 8}, {kGgmlQ4_0, 32, 18}, {kGgmlQ4_1, 32, 20},
                      {kGgmlQ5_0, 32, 22}, {kGgmlQ5_1, 32, 24}, {kGgmlQ8_0, 32, 34}, {kGgmlQ8_1, 32, 36},
                      {kGgmlQ2_K, 256, 84}, {kGgmlQ3_K, 256, 110}, {kGgmlQ4_K, 256, 144}, {kGgmlQ5_K, 256, 176},
                      {kGgmlQ6_K, 256, 210}, {kGgmlQ8_K, 256, 292}, {kGgmlTQ1_0, 256, 54}, {kGgmlTQ2_0, 256, 66}}) {
    const auto t = ggml_type_traits(r.type);
    ASSERT_TRUE(t) << r.type;
    EXPECT_EQ(t->block_elems, r.elems) << t->name;
    EXPECT_EQ(t->block_bytes, r.bytes) << t->name;
    EXPECT_EQ(ggml_tensor_bytes(r.type, r.elems * 2, r.elems * 6), uint64_t(r.bytes) * 6) << t->name;
  }
}

TEST(GgmlTypes, TernaryTrailersAndRowPadding) {
  EXPECT_EQ(ggml_tensor_bytes(kGgmlI2_S, 256, 256 * 256), 256 * 256 / 4 + 32);
  EXPECT_EQ(ggml_tensor_bytes(kGgmlI2_S, 130, 130), std::nullopt);  // x86 I2_S needs K % 128 == 0
  EXPECT_EQ(ggml_tensor_bytes(kGgmlBitlmT2, 128, 128 * 5), 5 * 32 + 32);
  EXPECT_EQ(ggml_tensor_bytes(kGgmlBitlmT2, 130, 130 * 3), 3 * 64 + 32);  // rows padded to whole blocks
  EXPECT_EQ(ggml_tensor_bytes(kGgmlBitlmT2, 1, 7), 7 * 32 + 32);
  EXPECT_EQ(ggml_tensor_bytes(kGgmlBitlmT1, 160, 160 * 5), 5 * 32 + 32);
  EXPECT_EQ(ggml_tensor_bytes(kGgmlBitlmT1, 161, 161 * 3), 3 * 64 + 32);  // 160-weight blocks
}

TEST(GgmlTypes, RejectsUnknownTypesBadRowsAndOverflow) {
  for (uint32_t id : {4u, 5u, 16u, 31u, 37u, 38u, 39u, 40u, 1023u}) EXPECT_FALSE(ggml_type_traits(id)) << id;
  EXPECT_EQ(ggml_type_unknown_reason(38), "bitnet.cpp TL1/TL2 or a newer ggml type, not supported");
  EXPECT_EQ(ggml_type_unknown_reason(99), "unknown ggml type");
  EXPECT_EQ(ggml_tensor_bytes(kGgmlTQ2_0, 255, 255), std::nullopt);
  EXPECT_EQ(ggml_tensor_bytes(kGgmlF32, 0, 0), std::nullopt);
  EXPECT_EQ(ggml_tensor_bytes(kGgmlF32, 3, 10), std::nullopt);  // not whole rows
  EXPECT_EQ(ggml_tensor_bytes(kGgmlF32, 1, uint64_t(1) << 62), std::nullopt);
  EXPECT_EQ(ggml_tensor_bytes(kGgmlBitlmT2, 1, UINT64_MAX), std::nullopt);
}

}  // namespace
}  // namespace bitlm
