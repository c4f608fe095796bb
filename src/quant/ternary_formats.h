// quant/ternary_formats.h — codecs of the weight formats bitlm reads and writes: whole ternary
// tensors (the peers' packings, float tensors, and bitlm's native layouts through their traits
// rows) and dense rows. The scalar codecs here are the spec; kernels must agree with them. Type
// ids, names and storage sizes: core/ggml_types.h.
//
// Ternary formats (rows = output features = ne[1], cols = ne[0]; all decode to row-major int8):
//  T2, T1 (bitlm's native layouts, ids 1024, 1025): quant/packed_layout.h; their rows, then a
//      32-byte tail whose first 4 bytes are the f32 per-tensor scale.
//  TQ2_0 (llama.cpp, id 35): 256-blocks of qs[64] + fp16 d; in each 32-byte half, byte m holds
//      elements m, m+32, m+64, m+96 at bits 0-1, 2-3, 4-5, 6-7; value = (code - 1) * d.
//  TQ1_0 (llama.cpp, id 34): 256-blocks of qs[48] + qh[4] + fp16 d; qs[0..31] hold elements
//      m + 32n (n = 0..4), qs[32..47] hold 160 + m + 16n, qh[j] holds 240 + j + 4n (n = 0..3);
//      a byte is the base-3 number (first trit most significant) as ceil(v * 256 / 243); trit n is
//      ((uint8)(b * 3^n) * 3) >> 8.
//  I2_S (bitnet.cpp x86, id 36): the whole tensor as 128-blocks of 32 bytes, byte b holding
//      elements b, b+32, b+64, b+96 in bits 7-6, 5-4, 3-2, 1-0 (code = w+1); then a 32-byte tail
//      whose first 4 bytes are the f32 scale. Requires cols % 128 == 0.
//  IQ2_BN (ik_llama.cpp, id 135): every row is its f32 scale (the row's max |w|; 0 for a row of
//      zeros), then 64-blocks of 16 bytes, byte j holding elements j, j+16, j+32, j+48 at bits 0-1,
//      2-3, 4-5, 6-7 (code = w+1). Requires cols % 64 == 0; ik's activation quantizer (Q8_K64)
//      asserts rows of >= 512. Every row with a nonzero code must carry the same scale.
//  IQ1_BN (ik_llama.cpp, id 134): every row is its fp16 scale, then 64-blocks of 13 bytes: per 16
//      weights 3 base-3 bytes of 5 (weights 5k + j) and a 4-trit byte `extra` (byte 12) holding
//      each quarter's weight 15; the first weight least significant, bytes as TQ1_0's
//      ceil(v * 256 / 243). 1.625 bits/weight; cols % 64 == 0, ik runs rows of >= 512.
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

#include "core/ggml_types.h"

namespace bitlm {

// ---- ternary tensors ----
struct DecodedTernary {
  std::vector<int8_t> q;      // rows*cols values in {-1,0,+1}, row-major
  float scale = 0;            // the per-tensor scale
  bool uniform_scale = true;  // false: blocks of a TQ tensor disagree on d (scale = first nonzero d)
  bool from_latent = false;   // a float tensor that was not already ternary, absmean-quantized
};

// True for the types decode_ternary reads: the native layouts, TQ1_0, TQ2_0, I2_S, IQ2_BN, IQ1_BN, F32,
// F16, BF16.
bool is_ternary_format(uint32_t ggml_type);

// Decodes tensor `name` of file `path` (both only for messages); throws FormatError on a type,
// shape or size that does not fit, or a non-finite/negative scale.
DecodedTernary decode_ternary(uint32_t ggml_type, std::span<const uint8_t> data, int64_t rows,
                              int64_t cols, std::string_view path, std::string_view name);
// As above into `out`, returning the scale; also throws when TQ block scales disagree. out.q keeps
// its capacity: a loader that decodes tensor after tensor into one DecodedTernary allocates once,
// where a buffer per tensor left freed holes in the heap that stayed resident (the T1 -> T2 load's
// peak RSS, docs/performance.md).
float decode_ternary(const std::string& path, const std::string& name, uint32_t ggml_type,
                     std::span<const uint8_t> data, int64_t rows, int64_t cols, DecodedTernary& out);
// Encodes q (values {-1,0,+1}) times scale; throws UserError naming `what` (e.g. the tensor)
// when cols does not fit the format. TQ1_0/TQ2_0 store the scale as each block's fp16 d (ggml:
// d = block absmax), so a scale that is not an fp16 value is rounded to the nearest one.
std::vector<uint8_t> encode_ternary(uint32_t ggml_type, std::span<const int8_t> q, int64_t rows,
                                    int64_t cols, float scale, std::string_view what = "encode");

// ---- the ternary types bitlm writes (`--weight-type` of export, quantize, synth, convert) ----
struct TernaryWriteType {
  std::string_view name;     // as the CLI spells it
  uint32_t type;             // ggml type id
  std::string_view readers;  // the engines that load a file of it (README "Supported files")
};
// t2, t1 (bitlm's fast layouts), tq2_0, tq1_0 (llama.cpp, bitnet.cpp), i2_s (bitnet.cpp x86; ik_llama.cpp
// converts it), iq2_bn, iq1_bn (ik_llama.cpp).
std::span<const TernaryWriteType> ternary_write_types();
bool is_ternary_write_type(uint32_t ggml_type);
// The ggml id of a CLI name; UserError listing the names otherwise.
uint32_t ternary_write_type(std::string_view name);
// "t2 (2 bits/weight; bitlm), t1 (...), ..." for --help texts.
std::string ternary_write_type_help();
// The row length the type needs a multiple of (1: any, the native layouts pad their rows).
int64_t ternary_cols_multiple(uint32_t ggml_type);

// ---- dense tensors (embeddings, output heads) ----
bool dense_type_supported(uint32_t ggml_type);  // F32, F16, BF16, Q8_0, Q6_K
// Bytes of one row; throws UserError for an unsupported type or cols not a block multiple.
uint64_t dense_row_bytes(uint32_t ggml_type, int64_t cols);
void decode_dense_row(uint32_t ggml_type, const uint8_t* row, int64_t cols, float* out);
// ggml's reference quantizers (Q8_0: d = absmax/127, roundf; Q6_K: per-16 scale without ggml's
// rmse search, so bytes may differ from llama-quantize but decode the same way).
void encode_dense_row(uint32_t ggml_type, const float* x, int64_t cols, uint8_t* out);

}  // namespace bitlm
