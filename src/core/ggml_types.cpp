// core/ggml_types.cpp — the storage table of ggml types (block sizes from ggml's ggml-common.h
// block_* structs; TQ1_0/TQ2_0 from llama.cpp PR #8151; I2_S from bitnet.cpp; IQ2_BN from
// ik_llama.cpp 8337e4cd3: ggml-common.h block_iq2_bn / block_iq1_bn, ggml.c type_traits row_meta_size).
#include "core/ggml_types.h"

#include <fmt/format.h>

#include "core/checked.h"

namespace bitlm {
namespace {

using enum GgmlStorage;

// I2_S: 128 codes -> 32 bytes (x86 layout, FORMATS.md) over the whole tensor. BITLM_T2: 128
// weights per 32-byte block, BITLM_T1: 160 (5 per byte), rows padded to whole blocks.
constexpr GgmlTypeTraits kTypes[] = {
    {kGgmlF32, "F32", 1, 4, kBlocks, false},        {kGgmlF16, "F16", 1, 2, kBlocks, false},
    {kGgmlQ4_0, "Q4_0", 32, 18, kBlocks, false},    {kGgmlQ4_1, "Q4_1", 32, 20, kBlocks, false},
    {kGgmlQ5_0, "Q5_0", 32, 22, kBlocks, false},    {kGgmlQ5_1, "Q5_1", 32, 24, kBlocks, false},
    {kGgmlQ8_0, "Q8_0", 32, 34, kBlocks, false},    {kGgmlQ8_1, "Q8_1", 32, 36, kBlocks, false},
    {kGgmlQ2_K, "Q2_K", 256, 84, kBlocks, false},   {kGgmlQ3_K, "Q3_K", 256, 110, kBlocks, false},
    {kGgmlQ4_K, "Q4_K", 256, 144, kBlocks, false},  {kGgmlQ5_K, "Q5_K", 256, 176, kBlocks, false},
    {kGgmlQ6_K, "Q6_K", 256, 210, kBlocks, false},  {kGgmlQ8_K, "Q8_K", 256, 292, kBlocks, false},
    {kGgmlI8, "I8", 1, 1, kBlocks, false},          {kGgmlI16, "I16", 1, 2, kBlocks, false},
    {kGgmlI32, "I32", 1, 4, kBlocks, false},        {kGgmlI64, "I64", 1, 8, kBlocks, false},
    {kGgmlF64, "F64", 1, 8, kBlocks, false},        {kGgmlBF16, "BF16", 1, 2, kBlocks, false},
    {kGgmlTQ1_0, "TQ1_0", 256, 54, kBlocks, true},  {kGgmlTQ2_0, "TQ2_0", 256, 66, kBlocks, true},
    {kGgmlI2_S, "I2_S", 128, 32, kBlocksScaleTail, true},
    // ik_llama.cpp's IQ2_BN (ggml-common.h block_iq2_bn: QK_IQ2BN = 64 weights in 16 bytes).
    {kGgmlIQ2_BN, "IQ2_BN", 64, 16, kRowScaleF32Blocks, true},
    // ik_llama.cpp's IQ1_BN (block_iq1_bn: 64 weights in ql[12] + extra, 13 bytes).
    {kGgmlIQ1_BN, "IQ1_BN", 64, 13, kRowScaleF16Blocks, true},
    {kGgmlBitlmT2, "BITLM_T2", 128, 32, kRowsScaleTail, true},
    {kGgmlBitlmT1, "BITLM_T1", 160, 32, kRowsScaleTail, true},
};

std::optional<uint64_t> with_tail(std::optional<uint64_t> body) {
  return body ? checked_add(*body, kGgmlScaleTailBytes) : std::nullopt;
}

}  // namespace

const GgmlTypeTraits* ggml_type_traits(uint32_t type) {
  for (const GgmlTypeTraits& t : kTypes)
    if (t.id == type) return &t;
  return nullptr;
}

std::string ggml_type_name(uint32_t type) {
  const GgmlTypeTraits* t = ggml_type_traits(type);
  return t ? std::string(t->name) : fmt::format("#{}", type);
}

std::optional<uint64_t> ggml_tensor_bytes(uint32_t type, uint64_t ne0, uint64_t n_elements) {
  const GgmlTypeTraits* t = ggml_type_traits(type);
  if (!t || ne0 == 0 || n_elements % ne0 != 0) return std::nullopt;
  if (t->storage == kRowsScaleTail) {
    const uint64_t row_bytes = (ne0 + t->block_elems - 1) / t->block_elems * t->block_bytes;
    return with_tail(checked_mul(n_elements / ne0, row_bytes));
  }
  if (ne0 % t->block_elems != 0) return std::nullopt;
  if (ggml_row_meta_bytes(t->storage) != 0)  // ik's ggml_row_size: row_meta_size + the row's blocks
    return checked_mul(n_elements / ne0, ggml_row_meta_bytes(t->storage) + ne0 / t->block_elems * t->block_bytes);
  const auto body = checked_mul(n_elements / t->block_elems, t->block_bytes);
  return t->storage == kBlocksScaleTail ? with_tail(body) : body;
}

uint32_t ggml_row_meta_bytes(GgmlStorage storage) {
  return storage == kRowScaleF32Blocks ? 4 : storage == kRowScaleF16Blocks ? 2 : 0;
}

std::string_view ggml_type_unknown_reason(uint32_t type) {
  if (type >= 37 && type <= 39) return "bitnet.cpp TL1/TL2 or a newer ggml type, not supported";
  return "unknown ggml type";
}

}  // namespace bitlm
