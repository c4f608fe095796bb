// io/ggml_types.cpp — the storage-size table of ggml types (block sizes from ggml's
// ggml-common.h block_* structs; TQ1_0/TQ2_0 from llama.cpp PR #8151; I2_S from bitnet.cpp).
#include "io/ggml_types.h"

#include "core/checked.h"

namespace bitlm {
namespace {

// I2_S: 128 codes -> 32 bytes (x86 layout, FORMATS.md), over the whole tensor, then a 32-byte
// tail holding the f32 per-tensor scale. BITLM_T2: every row padded to whole 128-weight blocks,
// then the same 32-byte scale tail. BITLM_T1: the same with 160-weight blocks (5 per byte).
constexpr uint32_t kTernaryBlockElems = 128, kTernaryBlockBytes = 32, kScaleTailBytes = 32, kT1BlockElems = 160;

// Rows padded to whole blocks, then the scale tail (bitlm's native types).
std::optional<uint64_t> padded_rows_bytes(uint64_t block_elems, uint64_t ne0, uint64_t n_elements) {
  const uint64_t row_bytes = (ne0 + block_elems - 1) / block_elems * kTernaryBlockBytes;
  const auto body = checked_mul(n_elements / ne0, row_bytes);
  return body ? checked_add(*body, kScaleTailBytes) : std::nullopt;
}

}  // namespace

std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type) {
  switch (type) {
    case kGgmlF32: return GgmlTypeTraits{"F32", 1, 4};
    case kGgmlF16: return GgmlTypeTraits{"F16", 1, 2};
    case kGgmlQ4_0: return GgmlTypeTraits{"Q4_0", 32, 18};
    case kGgmlQ4_1: return GgmlTypeTraits{"Q4_1", 32, 20};
    case kGgmlQ5_0: return GgmlTypeTraits{"Q5_0", 32, 22};
    case kGgmlQ5_1: return GgmlTypeTraits{"Q5_1", 32, 24};
    case kGgmlQ8_0: return GgmlTypeTraits{"Q8_0", 32, 34};
    case kGgmlQ8_1: return GgmlTypeTraits{"Q8_1", 32, 36};
    case kGgmlQ2_K: return GgmlTypeTraits{"Q2_K", 256, 84};
    case kGgmlQ3_K: return GgmlTypeTraits{"Q3_K", 256, 110};
    case kGgmlQ4_K: return GgmlTypeTraits{"Q4_K", 256, 144};
    case kGgmlQ5_K: return GgmlTypeTraits{"Q5_K", 256, 176};
    case kGgmlQ6_K: return GgmlTypeTraits{"Q6_K", 256, 210};
    case kGgmlQ8_K: return GgmlTypeTraits{"Q8_K", 256, 292};
    case kGgmlI8: return GgmlTypeTraits{"I8", 1, 1};
    case kGgmlI16: return GgmlTypeTraits{"I16", 1, 2};
    case kGgmlI32: return GgmlTypeTraits{"I32", 1, 4};
    case kGgmlI64: return GgmlTypeTraits{"I64", 1, 8};
    case kGgmlF64: return GgmlTypeTraits{"F64", 1, 8};
    case kGgmlBF16: return GgmlTypeTraits{"BF16", 1, 2};
    case kGgmlTQ1_0: return GgmlTypeTraits{"TQ1_0", 256, 54};
    case kGgmlTQ2_0: return GgmlTypeTraits{"TQ2_0", 256, 66};
    case kGgmlI2_S: return GgmlTypeTraits{"I2_S", kTernaryBlockElems, kTernaryBlockBytes};
    case kGgmlBitlmT2: return GgmlTypeTraits{"BITLM_T2", kTernaryBlockElems, kTernaryBlockBytes};
    case kGgmlBitlmT1: return GgmlTypeTraits{"BITLM_T1", kT1BlockElems, kTernaryBlockBytes};
    default: return std::nullopt;
  }
}

std::optional<uint64_t> ggml_tensor_bytes(uint32_t type, uint64_t ne0, uint64_t n_elements) {
  const auto t = ggml_type_traits(type);
  if (!t || ne0 == 0 || n_elements % ne0 != 0) return std::nullopt;
  if (type == kGgmlBitlmT2 || type == kGgmlBitlmT1) return padded_rows_bytes(t->block_elems, ne0, n_elements);
  if (ne0 % t->block_elems != 0) return std::nullopt;
  const auto body = checked_mul(n_elements / t->block_elems, t->block_bytes);
  if (type == kGgmlI2_S) return body ? checked_add(*body, kScaleTailBytes) : std::nullopt;
  return body;
}

std::string_view ggml_type_unknown_reason(uint32_t type) {
  if (type >= 37 && type <= 39) return "bitnet.cpp TL1/TL2 or a newer ggml type, not supported";
  return "unknown ggml type";
}

}  // namespace bitlm
