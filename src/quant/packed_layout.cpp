// quant/packed_layout.cpp — the traits rows of packed_layout.h and the row codecs of T2 and T1.
#include "quant/packed_layout.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>

#include "core/error.h"
#include "quant/trits.h"

namespace bitlm {
namespace {

// ---- T2: 4 codes per byte, weights j + 32k of a 128-block in bits 2k..2k+1 of byte j ----
constexpr int64_t kT2Block = 128, kT2BlockBytes = 32;

// Whole blocks byte by byte (a T1 file is repacked to T2 at load on AVX2: 2.1 G weights for 2B-4T),
// then the partial last block weight by weight.
void pack_t2_row(const int8_t* q, int64_t cols, uint8_t* out) {
  const int64_t full = cols / kT2Block;
  for (int64_t b = 0; b < full; ++b)
    for (int j = 0; j < 32; ++j) {
      const int8_t* w = q + b * kT2Block + j;
      out[b * kT2BlockBytes + j] = uint8_t((w[0] + 1) | (w[32] + 1) << 2 | (w[64] + 1) << 4 | (w[96] + 1) << 6);
    }
  if (full * kT2Block == cols) return;
  std::memset(out + full * kT2BlockBytes, 0, size_t(kT2BlockBytes));
  for (int64_t c = full * kT2Block; c < cols; ++c)
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

// Whole blocks with the running t_n = b * 3^n mod 256 (digit n = (3 t_n) >> 8, as trit() computes
// it from b), then the partial last block by trit().
void unpack_t1_row(const uint8_t* in, int64_t cols, int8_t* q) {
  const int64_t full = cols / kT1Block;
  for (int64_t b = 0; b < full; ++b)
    for (int j = 0; j < 32; ++j) {
      unsigned t = in[b * kT1BlockBytes + j];
      for (int n = 0; n < 5; ++n, t = (3 * t) & 0xFF) q[b * kT1Block + 32 * n + j] = int8_t(int((3 * t) >> 8) - 1);
    }
  for (int64_t c = full * kT1Block; c < cols; ++c)
    q[c] = trit(in[c / kT1Block * kT1BlockBytes + c % 32], int(c % kT1Block / 32));
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

namespace {

// The native layout nearest a file's type: a native layout as stored, a type of under 2 bits per
// weight (TQ1_0: 1.69, IQ1_BN: 1.63) as T1, every other type (TQ2_0, I2_S, IQ2_BN, float) as T2.
uint32_t nearest_layout(uint32_t file_type) {
  if (find_packed_layout(file_type)) return file_type;
  const GgmlTypeTraits* t = ggml_type_traits(file_type);
  return t && t->ternary && t->bits_per_weight() < 2.0 ? kGgmlBitlmT1 : kGgmlBitlmT2;
}

}  // namespace

uint32_t load_layout(uint32_t file_type) {
  static const std::string requested = [] {
    const char* env = std::getenv("BITLM_LAYOUT");
    return std::string(env ? env : "");
  }();
  const uint32_t fastest = best_kernels().fastest_layout;
  if (requested.empty()) return nearest_layout(file_type) == kGgmlBitlmT1 ? kGgmlBitlmT1 : fastest;
  if (requested == "file") return nearest_layout(file_type);
  if (requested == "fastest") return fastest;
  std::string names = "file, fastest";
  for (const PackedLayout& l : kLayouts) {
    if (l.name == requested) return l.type;
    names += fmt::format(", {}", l.name);
  }
  throw UserError(fmt::format("BITLM_LAYOUT={} is not one of {}", requested, names));
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
