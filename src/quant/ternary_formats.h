// quant/ternary_formats.h — codecs of the weight formats bitlm reads and writes, with one traits
// table for the ternary ones. The scalar codecs here are the spec; kernels must agree with them.
//
// Ternary layouts (rows = output features = ne[1], cols = ne[0]; all decode to row-major int8):
//  T2 (bitlm native, id 1024): per row ceil(cols/128) blocks of 32 bytes; code = w+1 in {0,1,2};
//      byte j of a block holds weights j, j+32, j+64, j+96 in bits 0-1, 2-3, 4-5, 6-7; tail
//      weights past cols are code 0 (kernels read zero activations there). Tensor bytes = the
//      rows' blocks, then a 32-byte tail whose first 4 bytes are the f32 per-tensor scale.
//      Identical on x86 and ARM.
//  T1 (bitlm native, id 1025, 1.6 bits/weight): per row ceil(cols/160) blocks of 32 bytes; byte j
//      of a block holds weights j, j+32, j+64, j+96, j+128 as the base-3 digits (code = w+1, first
//      weight most significant) of v, stored as ceil(v * 256 / 243) like TQ1_0, so digit n is
//      ((uint8)(b * 3^n) * 3) >> 8: SIMD multiplies by 3 with byte adds and takes the carry.
//      Weights past cols are code 1 (w = 0). Tensor bytes = the rows, then the same 32-byte scale
//      tail as T2. Every byte value decodes to valid codes.
//  TQ2_0 (llama.cpp, id 35): 256-blocks of qs[64] + fp16 d; in each 32-byte half, byte m holds
//      elements m, m+32, m+64, m+96 at bits 0-1, 2-3, 4-5, 6-7; value = (code - 1) * d.
//  TQ1_0 (llama.cpp, id 34): 256-blocks of qs[48] + qh[4] + fp16 d; qs[0..31] hold elements
//      m + 32n (n = 0..4), qs[32..47] hold 160 + m + 16n, qh[j] holds 240 + j + 4n (n = 0..3);
//      a byte is the base-3 number (first trit most significant) as ceil(v * 256 / 243); trit n is
//      ((uint8)(b * 3^n) * 3) >> 8.
//  I2_S (bitnet.cpp x86, id 36): the whole tensor as 128-blocks of 32 bytes, byte b holding
//      elements b, b+32, b+64, b+96 in bits 7-6, 5-4, 3-2, 1-0 (code = w+1); then a 32-byte tail
//      whose first 4 bytes are the f32 scale. Requires cols % 128 == 0.
//  F32/F16/BF16: "already ternary" ({0, +-s}, one s: kept exactly) or latent weights
//      (absmean-quantized, 003 eq. 3-5).
// Dense layouts: F32, F16, BF16; Q8_0 = 32-blocks of fp16 d + 32 int8 (34 bytes); Q6_K =
// 256-blocks of ql[128], qh[64], int8 scales[16], fp16 d (210 bytes), as ggml.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bitlm {

// The ggml type ids quant/ decodes (the same numbers as io/ggml_types.h, which quant/ may not
// include: core <- quant; tests/quant pins them equal).
namespace type_id {
inline constexpr uint32_t kF32 = 0, kF16 = 1, kQ8_0 = 8, kQ6_K = 14, kBF16 = 30, kTQ1_0 = 34,
                          kTQ2_0 = 35, kI2_S = 36, kT2 = 1024, kT1 = 1025;
}

// ---- T2, the native layout (shared with TernaryMatrix and the kernels) ----
inline constexpr int64_t kT2Block = 128;      // weights per block
inline constexpr int64_t kT2BlockBytes = 32;  // bytes per block
inline constexpr int64_t kTensorTailBytes = 32;  // T2/I2_S: the f32 scale, padded to 32 bytes
inline int64_t t2_row_bytes(int64_t cols) { return (cols + kT2Block - 1) / kT2Block * kT2BlockBytes; }
void pack_t2_row(const int8_t* q, int64_t cols, uint8_t* out);  // writes t2_row_bytes(cols)
void unpack_t2_row(const uint8_t* in, int64_t cols, int8_t* q);

// ---- T1, the native 1.6-bit layout ----
inline constexpr int64_t kT1Block = 160;      // weights per block (5 per byte)
inline constexpr int64_t kT1BlockBytes = 32;  // bytes per block
inline int64_t t1_row_bytes(int64_t cols) { return (cols + kT1Block - 1) / kT1Block * kT1BlockBytes; }
void pack_t1_row(const int8_t* q, int64_t cols, uint8_t* out);  // writes t1_row_bytes(cols)
void unpack_t1_row(const uint8_t* in, int64_t cols, int8_t* q);

// ---- ternary tensors ----
struct DecodedTernary {
  std::vector<int8_t> q;      // rows*cols values in {-1,0,+1}, row-major
  float scale = 0;            // the per-tensor scale
  bool uniform_scale = true;  // false: blocks of a TQ tensor disagree on d (scale = first nonzero d)
  bool from_latent = false;   // a float tensor that was not already ternary, absmean-quantized
};

struct TernaryFormatTraits {
  uint32_t ggml_type;
  std::string_view name;
  int64_t col_multiple;  // cols must be a multiple of this
  uint64_t (*n_bytes)(int64_t rows, int64_t cols);
  void (*decode)(const uint8_t* data, int64_t rows, int64_t cols, DecodedTernary& out);
  void (*encode)(const int8_t* q, int64_t rows, int64_t cols, float scale, uint8_t* out);
};

// The traits of a ternary-capable type (T2, T1, TQ1_0, TQ2_0, I2_S, F32, F16, BF16), or nullptr.
const TernaryFormatTraits* ternary_format(uint32_t ggml_type);

// Decodes tensor `name` of file `path` (both only for messages); throws FormatError on a type,
// shape or size that does not fit, or a non-finite/negative scale.
DecodedTernary decode_ternary(uint32_t ggml_type, std::span<const uint8_t> data, int64_t rows,
                              int64_t cols, std::string_view path, std::string_view name);
// As above into q (rows*cols), returning the scale; also throws when TQ block scales disagree.
float decode_ternary(const std::string& path, const std::string& name, uint32_t ggml_type,
                     std::span<const uint8_t> data, int64_t rows, int64_t cols, std::span<int8_t> q);
// Encodes q (values {-1,0,+1}) times scale; throws UserError when cols does not fit the format.
std::vector<uint8_t> encode_ternary(uint32_t ggml_type, std::span<const int8_t> q, int64_t rows,
                                    int64_t cols, float scale);

// ---- dense tensors (embeddings, output heads) ----
bool dense_type_supported(uint32_t ggml_type);  // F32, F16, BF16, Q8_0, Q6_K
// Bytes of one row; throws UserError for an unsupported type or cols not a block multiple.
uint64_t dense_row_bytes(uint32_t ggml_type, int64_t cols);
void decode_dense_row(uint32_t ggml_type, const uint8_t* row, int64_t cols, float* out);
// ggml's reference quantizers (Q8_0: d = absmax/127, roundf; Q6_K: per-16 scale without ggml's
// rmse search, so bytes may differ from llama-quantize but decode the same way).
void encode_dense_row(uint32_t ggml_type, const float* x, int64_t cols, uint8_t* out);

}  // namespace bitlm
