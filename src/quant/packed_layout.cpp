// quant/packed_layout.cpp — the traits rows of packed_layout.h and the row codecs of T2 and T1.
#include "quant/packed_layout.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "quant/trits.h"

namespace bitlm {
namespace {

// ---- T2: 4 codes per byte, weights j + 32k of a 128-block in bits 2k..2k+1 of byte j ----
constexpr int64_t kT2Block = 128, kT2BlockBytes = 32;

void pack_t2_row(const int8_t* q, int64_t cols, uint8_t* out) {
  std::memset(out, 0, size_t((cols + kT2Block - 1) / kT2Block * kT2BlockBytes));
  for (int64_t c = 0; c < cols; ++c)
    out[c / kT2Block * kT2BlockBytes + c % 32] |= uint8_t((q[c] + 1) << (2 * (c % kT2Block / 32)));
}

void unpack_t2_row(const uint8_t* in, int64_t cols, int8_t* q) {
  for (int64_t c = 0; c < cols; ++c)
    q[c] = int8_t(((in[c / kT2Block * kT2BlockBytes + c % 32] >> (2 * (c % kT2Block / 32))) & 3) - 1);
}

bool t2_rows_valid(const uint8_t* rows, size_t n_bytes) {  // code 3: both bits of a pair set
  uint8_t bad = 0;
  for (size_t i = 0; i < n_bytes; ++i) bad |= rows[i] & (rows[i] >> 1);
  return (bad & 0x55) == 0;
}

// ---- T1: 5 codes per byte (base 3), weights j + 32n of a 160-block in digit n of byte j ----
constexpr int64_t kT1Block = 160, kT1BlockBytes = 32;

void pack_t1_row(const int8_t* q, int64_t cols, uint8_t* out) {
  for (int64_t b = 0; b < (cols + kT1Block - 1) / kT1Block; ++b) {
    int8_t blk[kT1Block] = {};  // weights past cols are 0 (code 1)
    const int64_t n = std::min(kT1Block, cols - b * kT1Block);
    std::copy(q + b * kT1Block, q + b * kT1Block + n, blk);
    for (int j = 0; j < 32; ++j) out[b * kT1BlockBytes + j] = trit_byte(blk + j, 32, 5);
  }
}

void unpack_t1_row(const uint8_t* in, int64_t cols, int8_t* q) {
  for (int64_t c = 0; c < cols; ++c) q[c] = trit(in[c / kT1Block * kT1BlockBytes + c % 32], int(c % kT1Block / 32));
}

constexpr PackedLayout kLayouts[] = {
    {kGgmlBitlmT2, "t2", pack_t2_row, unpack_t2_row, t2_rows_valid, &MatmulKernels::t2},
    {kGgmlBitlmT1, "t1", pack_t1_row, unpack_t1_row, nullptr, &MatmulKernels::t1},
};

}  // namespace

int64_t PackedLayout::row_bytes(int64_t cols) const {
  const GgmlTypeTraits& s = storage();
  return (cols + s.block_elems - 1) / s.block_elems * s.block_bytes;
}

int64_t PackedLayout::padded_cols(int64_t cols) const {
  return (cols + block_weights() - 1) / block_weights() * block_weights();
}

std::span<const PackedLayout> packed_layouts() { return kLayouts; }

const PackedLayout* find_packed_layout(uint32_t ggml_type) {
  for (const PackedLayout& l : kLayouts)
    if (l.type == ggml_type) return &l;
  return nullptr;
}

const PackedLayout& packed_layout(uint32_t ggml_type) {
  const PackedLayout* l = find_packed_layout(ggml_type);
  BITLM_ASSERT(l != nullptr);
  return *l;
}

int64_t activation_block_lcm() {
  static const int64_t lcm = [] {
    int64_t m = 1;
    for (const PackedLayout& l : kLayouts) m = std::lcm(m, l.block_weights());
    return m;
  }();
  return lcm;
}

}  // namespace bitlm
