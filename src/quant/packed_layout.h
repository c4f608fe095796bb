// quant/packed_layout.h — bitlm's native packed ternary layouts, the in-memory form of every
// TernaryMatrix (quant/matrix.h) and a GGUF type of their own. One traits row per layout: its ggml
// id (core/ggml_types.h holds the name, the block geometry and the storage rule), its row codec
// (the spec the kernels must agree with), its validation and its kernel slot in the dispatch table
// (quant/kernels.h). matrix.cpp, the codecs of ternary_formats.h, synth and export read the row
// and never branch on the layout.
//
// Adding a layout: the id and storage line in core/ggml_types, a codec and one row here, its
// kernels (a slot in MatmulKernels, a _ref file, optional per-ISA files) and a test of its byte
// layout; the layout-generic tests (round trips, TernaryMatrix, every ISA against ref) iterate
// packed_layouts() and cover it without an edit (docs/kernels.md, "Adding a layout").
//
// Layouts (rows = output features, cols = input features; every row padded to whole blocks; a
// tensor in a file is its rows, then a 32-byte tail whose first 4 bytes are the f32 scale):
//  T2 (id 1024, 2 bits/weight): 128-weight blocks of 32 bytes; code = w+1 in {0,1,2}; byte j of a
//      block holds weights j, j+32, j+64, j+96 in bits 0-1, 2-3, 4-5, 6-7; weights past cols are
//      code 0 (kernels read zero activations there). Code 3 is invalid.
//  T1 (id 1025, 1.6 bits/weight): 160-weight blocks of 32 bytes; byte j of a block holds weights
//      j, j+32, j+64, j+96, j+128 as the base-3 digits (code = w+1, first weight most significant)
//      of v, stored as ceil(v * 256 / 243) like TQ1_0, so digit n is ((uint8)(b * 3^n) * 3) >> 8:
//      SIMD multiplies by 3 with byte adds and takes the carry. Weights past cols are code 1
//      (w = 0). Every byte value decodes to valid codes.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "core/ggml_types.h"
#include "quant/kernels.h"

namespace bitlm {

struct PackedLayout {
  uint32_t type;          // ggml type id
  std::string_view name;  // as the CLI spells it: "t2", "t1"
  // Packs cols values in {-1,0,+1} into row_bytes(cols) bytes (padding included) and back.
  void (*pack_row)(const int8_t* q, int64_t cols, uint8_t* out);
  void (*unpack_row)(const uint8_t* in, int64_t cols, int8_t* q);
  // False if some byte of the packed rows decodes to no ternary value; nullptr: every byte does.
  bool (*rows_valid)(const uint8_t* rows, size_t n_bytes);
  PackedKernels MatmulKernels::*kernels;  // its int8 and f32 GEMV/GEMM in every ISA's table

  const GgmlTypeTraits& storage() const { return *ggml_type_traits(type); }
  int64_t block_weights() const { return storage().block_elems; }
  int64_t row_bytes(int64_t cols) const;    // whole blocks
  int64_t padded_cols(int64_t cols) const;  // the activations a kernel reads per row (whole blocks)
  double bits_per_weight() const { return storage().bits_per_weight(); }
};

std::span<const PackedLayout> packed_layouts();
const PackedLayout* find_packed_layout(uint32_t ggml_type);  // nullptr if not a native layout
const PackedLayout& packed_layout(uint32_t ggml_type);       // BITLM_ASSERT that it is one
// THE choice of the packed layout a ternary tensor stored as ggml type `file_type` runs in after
// loading (model/weights.cpp). Two rules (issue 14: a TQ1_0 file stays 1.6 bits per weight in
// memory; issue 15: otherwise the layout this machine decodes fastest): a file at 1.6 bits (T1,
// TQ1_0, IQ1_BN: a ternary type of under 2 bits per weight) runs in T1 -- its writer chose the smaller form, and on AVX2 T1 costs ~1.3x in decode
// speed for 0.87x the bytes (docs/performance.md, "Layout per machine") -- and every other type
// (T2, TQ2_0, I2_S, IQ2_BN, float) in best_kernels().fastest_layout (T2 with AVX2, NEON and ref; T1 with
// AVX-512). The writers' default (`auto`) is the fastest layout, so a default file is not repacked.
// BITLM_LAYOUT overrides: t2 or t1 (any layout's name), `fastest` (every type in the fastest
// layout: a T1 file repacked to T2 on AVX2), or `file` (the layout nearest the file's: a native
// layout as stored, TQ1_0 and IQ1_BN as T1, every other type as T2); UserError for another value.
uint32_t load_layout(uint32_t file_type);

// Activations padded to a multiple of this are whole blocks of every layout (640 for T2 and T1).
int64_t activation_block_lcm();

}  // namespace bitlm
