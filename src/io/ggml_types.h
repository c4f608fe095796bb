// io/ggml_types.h — ggml tensor type ids as stored in GGUF and their storage sizes (a container
// fact: the reader needs it to validate tensor extents). Decoding lives in quant/.
#pragma once
#include <cstdint>
#include <optional>
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
  // bitlm's native packed ternary type (see quant/ternary_formats.h); an id no peer uses.
  // Rows of ne0 weights each padded to ceil(ne0/128)*32 bytes, then a 32-byte tail starting with
  // the f32 scale (traits say 128/32; ggml_tensor_bytes adds the row padding and the tail).
  kGgmlBitlmT2 = 1024,
  // bitlm's 1.6-bit ternary type: 5 weights per byte, rows padded to ceil(ne0/160)*32 bytes, then
  // the same 32-byte scale tail as T2.
  kGgmlBitlmT1 = 1025,
};

struct GgmlTypeTraits {
  std::string_view name;
  uint32_t block_elems;  // elements per block (ne[0] must be a multiple)
  uint32_t block_bytes;  // bytes per block
};

// Traits of a known type, or nullopt. I2_S is special-cased by ggml_tensor_bytes.
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type);

// Bytes of a tensor of `type` with n_elements elements whose rows have ne0 elements;
// nullopt if the type is unknown, ne0 is not a multiple of the block or the size overflows.
std::optional<uint64_t> ggml_tensor_bytes(uint32_t type, uint64_t ne0, uint64_t n_elements);

// Why a type id has no traits, for error messages (ids 37-39: TL1/TL2 or newer ggml types).
std::string_view ggml_type_unknown_reason(uint32_t type);

}  // namespace bitlm
