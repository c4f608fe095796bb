// core/ggml_types.h — THE ggml tensor type ids (as stored in GGUF) and their storage: block
// geometry, how a tensor's bytes follow from its shape, whether the type holds ternary codes.
// Below io/ (whose reader validates tensor extents with it) and quant/ (whose codecs and packed
// layouts are keyed by these ids), so both read one list. Decoding lives in quant/.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bitlm {

enum GgmlType : uint32_t {
  kGgmlF32 = 0, kGgmlF16 = 1, kGgmlQ4_0 = 2, kGgmlQ4_1 = 3, kGgmlQ5_0 = 6, kGgmlQ5_1 = 7,
  kGgmlQ8_0 = 8, kGgmlQ8_1 = 9, kGgmlQ2_K = 10, kGgmlQ3_K = 11, kGgmlQ4_K = 12, kGgmlQ5_K = 13,
  kGgmlQ6_K = 14, kGgmlQ8_K = 15, kGgmlI8 = 24, kGgmlI16 = 25, kGgmlI32 = 26, kGgmlI64 = 27,
  kGgmlF64 = 28, kGgmlBF16 = 30, kGgmlTQ1_0 = 34, kGgmlTQ2_0 = 35,
  // bitnet.cpp's I2_S reuses id 36 (newer ggml gives 36-39 to other types): n/4 packed bytes +
  // a 32-byte tail whose first 4 bytes are the f32 per-tensor scale.
  kGgmlI2_S = 36,
  // ik_llama.cpp's ternary types (its ggml.h): every row starts with its scale (IQ2_BN: f32 row
  // max; IQ1_BN: fp16), then 64-weight blocks. Ids from ik's enum; upstream ggml does not have them.
  kGgmlIQ1_BN = 134,
  kGgmlIQ2_BN = 135,
  // bitlm's native packed ternary layouts (quant/packed_layout.h), ids no peer uses: rows padded to
  // whole blocks, then a 32-byte tail starting with the f32 scale. T2: 2 bits/weight, T1: 1.6.
  kGgmlBitlmT2 = 1024,
  kGgmlBitlmT1 = 1025,
};

// How a tensor's bytes follow from its shape (ne0 = row length, n = element count).
enum class GgmlStorage : uint8_t {
  kBlocks,            // n / block_elems blocks; ne0 a multiple of block_elems (ggml's own types)
  kBlocksScaleTail,   // the same, then a 32-byte tail holding the f32 per-tensor scale (I2_S)
  kRowsScaleTail,     // every row padded to whole blocks, then the scale tail (bitlm's layouts)
  kRowScaleF32Blocks, // every row: its f32 scale (ik's row_meta_size 4), then ne0 / block_elems blocks (IQ2_BN)
  kRowScaleF16Blocks, // the same with an fp16 scale (row_meta_size 2: IQ1_BN)
};

// Bytes before the blocks of every row (ik_llama.cpp's row_meta_size): 4 for kRowScaleF32Blocks,
// 2 for kRowScaleF16Blocks, else 0.
uint32_t ggml_row_meta_bytes(GgmlStorage storage);

inline constexpr uint32_t kGgmlScaleTailBytes = 32;

struct GgmlTypeTraits {
  uint32_t id;
  std::string_view name;
  uint32_t block_elems;  // elements per block
  uint32_t block_bytes;  // bytes per block
  GgmlStorage storage;
  bool ternary;          // holds only ternary codes (a BitNet linear weight, never an embedding)
  double bits_per_weight() const { return 8.0 * block_bytes / block_elems; }  // without tails or padding
};

// Traits of a known type, or nullptr.
const GgmlTypeTraits* ggml_type_traits(uint32_t type);
// Its name, or "#<id>" for an unknown id (error messages).
std::string ggml_type_name(uint32_t type);

// Bytes of a tensor of `type` with n_elements elements whose rows have ne0 elements;
// nullopt if the type is unknown, ne0 is not a multiple of the block or the size overflows.
std::optional<uint64_t> ggml_tensor_bytes(uint32_t type, uint64_t ne0, uint64_t n_elements);

// Why a type id has no traits, for error messages (ids 37-39: TL1/TL2 or newer ggml types).
std::string_view ggml_type_unknown_reason(uint32_t type);

}  // namespace bitlm
