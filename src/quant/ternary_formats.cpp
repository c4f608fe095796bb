// quant/ternary_formats.cpp — the scalar codecs of ternary_formats.h: one table of the peers' and
// the float formats, and the native layouts through their rows (quant/packed_layout.h).
// Layouts are described in the header; the ggml ones follow ggml-quants.c (quantize_row_*_ref,
// dequantize_row_*), I2_S follows bitnet.cpp's quantize_i2_s (x86, QK_I2_S = 128), IQ2_BN and
// IQ1_BN ik_llama.cpp's quantize_iq2_bn / quantize_iq1_bn.
#include "quant/ternary_formats.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/checked.h"
#include "core/error.h"
#include "core/fp16.h"
#include "quant/packed_layout.h"
#include "quant/quantize.h"
#include "quant/trits.h"

namespace bitlm {
namespace {

constexpr int64_t kQK = 256;                 // TQ1_0 / TQ2_0 / Q6_K block
constexpr int64_t kTQ1Bytes = 48 + 4 + 2, kTQ2Bytes = 64 + 2;
constexpr int64_t kQ80Block = 32, kQ80Bytes = 34, kQ40Bytes = 18, kQ6KBytes = 128 + 64 + 16 + 2;
constexpr int64_t kI2SBlock = 128, kI2SBlockBytes = 32;
constexpr int64_t kIQBNBlock = 64, kIQ2BNBlockBytes = 16, kIQ1BNBlockBytes = 13;  // both ik types: 64-blocks

// A code 3 in a 2-bit format has no ternary meaning; decoders mark it and the caller throws.
struct CodeCheck {
  bool bad = false;
  int8_t operator()(unsigned code) {
    bad |= code > 2;
    return int8_t(int(code) - 1);
  }
};

float load_f32(const uint8_t* p) { float f; std::memcpy(&f, p, 4); return f; }
uint16_t load_u16(const uint8_t* p) { uint16_t h; std::memcpy(&h, p, 2); return h; }
void store_u16(uint8_t* p, uint16_t h) { std::memcpy(p, &h, 2); }

// Per-block scales of TQ tensors: every block with a nonzero code must carry the same d.
void agree_scale(float d, const int8_t* q, int64_t n, DecodedTernary& out) {
  if (std::none_of(q, q + n, [](int8_t v) { return v != 0; })) return;
  if (out.scale == 0) out.scale = d;
  else if (d != out.scale) out.uniform_scale = false;
}

// ---- the native layouts: packed rows, then a 32-byte tail whose first 4 bytes are the scale ----
void native_decode(const PackedLayout& l, const uint8_t* data, int64_t rows, int64_t cols, DecodedTernary& out) {
  const int64_t rb = l.row_bytes(cols);
  BITLM_CHECK(!l.rows_valid || l.rows_valid(data, size_t(rows * rb)), "a {} weight has an invalid code",
              l.storage().name);
  for (int64_t r = 0; r < rows; ++r) l.unpack_row(data + r * rb, cols, out.q.data() + r * cols);
  out.scale = load_f32(data + rows * rb);
}

void native_encode(const PackedLayout& l, const int8_t* q, int64_t rows, int64_t cols, float scale, uint8_t* out) {
  const int64_t rb = l.row_bytes(cols);
  for (int64_t r = 0; r < rows; ++r) l.pack_row(q + r * cols, cols, out + r * rb);
  std::memset(out + rows * rb, 0, kGgmlScaleTailBytes);
  std::memcpy(out + rows * rb, &scale, 4);
}

// ---- TQ2_0 ----
void tq2_decode(const uint8_t* data, int64_t rows, int64_t cols, DecodedTernary& out) {
  CodeCheck check;
  for (int64_t b = 0; b < rows * cols / kQK; ++b) {
    const uint8_t* blk = data + b * kTQ2Bytes;
    int8_t* q = out.q.data() + b * kQK;
    for (int64_t half = 0; half < 2; ++half)
      for (int l = 0; l < 4; ++l)
        for (int m = 0; m < 32; ++m) q[half * 128 + l * 32 + m] = check((blk[half * 32 + m] >> (2 * l)) & 3);
    agree_scale(fp16_to_f32(load_u16(blk + 64)), q, kQK, out);
  }
  BITLM_CHECK(!check.bad, "a TQ2_0 weight has code 3");
}

void tq2_encode(const int8_t* q, int64_t rows, int64_t cols, float scale, uint8_t* out) {
  for (int64_t b = 0; b < rows * cols / kQK; ++b) {
    const int8_t* x = q + b * kQK;
    uint8_t* blk = out + b * kTQ2Bytes;
    for (int64_t half = 0; half < 2; ++half)
      for (int m = 0; m < 32; ++m) {
        unsigned v = 0;
        for (int l = 0; l < 4; ++l) v |= unsigned(x[half * 128 + l * 32 + m] + 1) << (2 * l);
        blk[half * 32 + m] = uint8_t(v);
      }
    const bool any = std::any_of(x, x + kQK, [](int8_t v) { return v != 0; });
    store_u16(blk + 64, f32_to_fp16(any ? scale : 0.0f));  // ggml: d = block absmax
  }
}

// ---- TQ1_0 ----
void tq1_decode(const uint8_t* data, int64_t rows, int64_t cols, DecodedTernary& out) {
  for (int64_t b = 0; b < rows * cols / kQK; ++b) {
    const uint8_t* blk = data + b * kTQ1Bytes;
    int8_t* q = out.q.data() + b * kQK;
    for (int n = 0; n < 5; ++n)
      for (int m = 0; m < 32; ++m) q[n * 32 + m] = trit(blk[m], n);
    for (int n = 0; n < 5; ++n)
      for (int m = 0; m < 16; ++m) q[160 + n * 16 + m] = trit(blk[32 + m], n);
    for (int n = 0; n < 4; ++n)
      for (int j = 0; j < 4; ++j) q[240 + n * 4 + j] = trit(blk[48 + j], n);
    agree_scale(fp16_to_f32(load_u16(blk + 52)), q, kQK, out);
  }
}

void tq1_encode(const int8_t* q, int64_t rows, int64_t cols, float scale, uint8_t* out) {
  for (int64_t b = 0; b < rows * cols / kQK; ++b) {
    const int8_t* x = q + b * kQK;
    uint8_t* blk = out + b * kTQ1Bytes;
    for (int m = 0; m < 32; ++m) blk[m] = trit_byte(x + m, 32, 5);
    for (int m = 0; m < 16; ++m) blk[32 + m] = trit_byte(x + 160 + m, 16, 5);
    for (int j = 0; j < 4; ++j) blk[48 + j] = trit_byte(x + 240 + j, 4, 4);
    const bool any = std::any_of(x, x + kQK, [](int8_t v) { return v != 0; });
    store_u16(blk + 52, f32_to_fp16(any ? scale : 0.0f));
  }
}

// ---- I2_S ----
void i2s_decode(const uint8_t* data, int64_t rows, int64_t cols, DecodedTernary& out) {
  CodeCheck check;
  const int64_t n = rows * cols;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t byte = data[i / kI2SBlock * kI2SBlockBytes + i % 32];
    out.q[size_t(i)] = check((byte >> (6 - 2 * (i % kI2SBlock / 32))) & 3);
  }
  BITLM_CHECK(!check.bad, "an I2_S weight has code 3");
  out.scale = load_f32(data + n / 4);
}

void i2s_encode(const int8_t* q, int64_t rows, int64_t cols, float scale, uint8_t* out) {
  const int64_t n = rows * cols;
  std::memset(out, 0, size_t(n / 4 + kGgmlScaleTailBytes));
  for (int64_t i = 0; i < n; ++i)
    out[i / kI2SBlock * kI2SBlockBytes + i % 32] |= uint8_t((q[i] + 1) << (6 - 2 * (i % kI2SBlock / 32)));
  std::memcpy(out + n / 4, &scale, 4);
}

// ---- IQ2_BN (ik_llama.cpp iqk_quantize.cpp quantize_one_row_2bn / dequantize_row_iq2_bn) ----
// Each row: its f32 scale (ik writes the row's max |w|: s, or 0 for a row of zeros), then 64-weight
// blocks of 16 bytes, byte j holding weights j, j+16, j+32, j+48 at bits 0-1, 2-3, 4-5, 6-7 (code = w+1).
int64_t iq2bn_row_bytes(int64_t cols) { return 4 + cols / kIQBNBlock * kIQ2BNBlockBytes; }

void iq2bn_decode(const uint8_t* data, int64_t rows, int64_t cols, DecodedTernary& out) {
  CodeCheck check;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = data + r * iq2bn_row_bytes(cols);
    int8_t* q = out.q.data() + r * cols;
    for (int64_t i = 0; i < cols; ++i)
      q[i] = check((row[4 + i / kIQBNBlock * kIQ2BNBlockBytes + i % 16] >> (2 * (i % kIQBNBlock / 16))) & 3);
    agree_scale(load_f32(row), q, cols, out);  // one per-tensor scale (003 eq. 5) in every row
  }
  BITLM_CHECK(!check.bad, "an IQ2_BN weight has code 3");
}

void iq2bn_encode(const int8_t* q, int64_t rows, int64_t cols, float scale, uint8_t* out) {
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = out + r * iq2bn_row_bytes(cols);
    const int8_t* x = q + r * cols;
    const bool any = std::any_of(x, x + cols, [](int8_t v) { return v != 0; });
    const float d = any ? scale : 0.0f;  // ik: the row's max |w|
    std::memcpy(row, &d, 4);
    std::memset(row + 4, 0, size_t(cols / 4));
    for (int64_t i = 0; i < cols; ++i)
      row[4 + i / kIQBNBlock * kIQ2BNBlockBytes + i % 16] |= uint8_t((x[i] + 1) << (2 * (i % kIQBNBlock / 16)));
  }
}

// ---- IQ1_BN (ik_llama.cpp iqk_quantize.cpp quantize_one_row_1bn / dequantize_row_iq1_bn) ----
// Each row: its fp16 scale (the row's max |w|), then 64-weight blocks of 13 bytes. In block
// quarter i (weights 16i..16i+15) byte ql[3i + k] holds weights 16i + 5k + j (j = 0..4) and byte
// 12 (extra) holds weights 16i + 15 (i = 0..3), each as the base-3 number of the codes (w + 1) with
// the FIRST weight LEAST significant, stored as ceil(v * 256 / 243) (quant/trits.h): weight j is
// the byte's digit 4 - j.
int64_t iq1bn_row_bytes(int64_t cols) { return 2 + cols / kIQBNBlock * kIQ1BNBlockBytes; }

void iq1bn_decode(const uint8_t* data, int64_t rows, int64_t cols, DecodedTernary& out) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = data + r * iq1bn_row_bytes(cols);
    int8_t* q = out.q.data() + r * cols;
    for (int64_t b = 0; b < cols / kIQBNBlock; ++b) {
      const uint8_t* blk = row + 2 + b * kIQ1BNBlockBytes;
      int8_t* x = q + b * kIQBNBlock;
      for (int i = 0; i < 4; ++i) {
        for (int k = 0; k < 3; ++k)
          for (int j = 0; j < 5; ++j) x[16 * i + 5 * k + j] = trit(blk[3 * i + k], 4 - j);
        x[16 * i + 15] = trit(blk[12], 4 - i);
      }
    }
    agree_scale(fp16_to_f32(load_u16(row)), q, cols, out);
  }
}

void iq1bn_encode(const int8_t* q, int64_t rows, int64_t cols, float scale, uint8_t* out) {
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = out + r * iq1bn_row_bytes(cols);
    const int8_t* x = q + r * cols;
    const bool any = std::any_of(x, x + cols, [](int8_t v) { return v != 0; });
    store_u16(row, f32_to_fp16(any ? scale : 0.0f));  // ik: fp16 of the row's max |w|
    for (int64_t b = 0; b < cols / kIQBNBlock; ++b) {
      uint8_t* blk = row + 2 + b * kIQ1BNBlockBytes;
      const int8_t* xb = x + b * kIQBNBlock;
      for (int i = 0; i < 4; ++i)  // weight j is digit 4 - j: the five weights read backwards
        for (int k = 0; k < 3; ++k) blk[3 * i + k] = trit_byte(xb + 16 * i + 5 * k + 4, -1, 5);
      const int8_t extra[5] = {-1, xb[63], xb[47], xb[31], xb[15]};  // weight 16i + 15 is digit 4 - i; digit 0 unused
      blk[12] = trit_byte(extra, 1, 5);
    }
  }
}

// ---- float tensors: already ternary, or latent weights ----
template <uint32_t kType>
float float_at(const uint8_t* p, int64_t i) {
  if constexpr (kType == kGgmlF32) return load_f32(p + 4 * i);
  else if constexpr (kType == kGgmlF16) return fp16_to_f32(load_u16(p + 2 * i));
  else return bf16_to_f32(load_u16(p + 2 * i));
}

template <uint32_t kType>
void float_decode(const uint8_t* data, int64_t rows, int64_t cols, DecodedTernary& out) {
  std::vector<float> w(size_t(rows * cols));
  float s = 0;
  bool ternary = true;
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = float_at<kType>(data, int64_t(i));
    BITLM_CHECK(std::isfinite(w[i]), "element {} is not finite", i);
    const float a = std::fabs(w[i]);
    if (a != 0 && s == 0) s = a;
    ternary &= a == 0 || a == s;
  }
  if (ternary && s != 0) {  // a converter already ternarized it: keep s exactly
    for (size_t i = 0; i < w.size(); ++i) out.q[i] = int8_t(w[i] > 0 ? 1 : w[i] < 0 ? -1 : 0);
    out.scale = s;
  } else {
    out.scale = quantize_absmean(w, out.q);
    out.from_latent = true;
  }
}

template <uint32_t kType>
void float_encode(const int8_t* q, int64_t rows, int64_t cols, float scale, uint8_t* out) {
  for (int64_t i = 0; i < rows * cols; ++i) {
    const float v = float(q[i]) * scale;
    if constexpr (kType == kGgmlF32) std::memcpy(out + 4 * i, &v, 4);
    else store_u16(out + 2 * i, kType == kGgmlF16 ? f32_to_fp16(v) : f32_to_bf16(v));
  }
}

// The peers' and the float formats; the native layouts go through their rows.
struct TernaryCodec {
  uint32_t type;
  void (*decode)(const uint8_t* data, int64_t rows, int64_t cols, DecodedTernary& out);
  void (*encode)(const int8_t* q, int64_t rows, int64_t cols, float scale, uint8_t* out);
};

constexpr TernaryCodec kCodecs[] = {
    {kGgmlTQ1_0, tq1_decode, tq1_encode},
    {kGgmlTQ2_0, tq2_decode, tq2_encode},
    {kGgmlI2_S, i2s_decode, i2s_encode},
    {kGgmlIQ2_BN, iq2bn_decode, iq2bn_encode},
    {kGgmlIQ1_BN, iq1bn_decode, iq1bn_encode},
    {kGgmlF32, float_decode<kGgmlF32>, float_encode<kGgmlF32>},
    {kGgmlF16, float_decode<kGgmlF16>, float_encode<kGgmlF16>},
    {kGgmlBF16, float_decode<kGgmlBF16>, float_encode<kGgmlBF16>},
};

const TernaryCodec* find_codec(uint32_t type) {
  for (const auto& c : kCodecs)
    if (c.type == type) return &c;
  return nullptr;
}

// The storage traits of a ternary format whose shape fits it (cols a whole number of blocks,
// except in the native layouts, which pad their rows); UserError naming `what` otherwise.
const GgmlTypeTraits& require_format(uint32_t type, int64_t rows, int64_t cols, std::string_view what) {
  BITLM_CHECK(is_ternary_format(type), "{}: ggml type {} is not a ternary weight format", what, ggml_type_name(type));
  const GgmlTypeTraits& t = *ggml_type_traits(type);
  const int64_t multiple = t.storage == GgmlStorage::kRowsScaleTail ? 1 : t.block_elems;
  BITLM_CHECK(rows > 0 && cols > 0 && cols % multiple == 0, "{}: {} needs cols a multiple of {}, got {}x{}", what,
              t.name, multiple, rows, cols);
  return t;
}

uint64_t tensor_bytes(uint32_t type, int64_t rows, int64_t cols) {
  return ggml_tensor_bytes(type, uint64_t(cols), uint64_t(rows * cols)).value();
}

}  // namespace

bool is_ternary_format(uint32_t type) { return find_packed_layout(type) || find_codec(type); }

namespace {

void decode_into(uint32_t ggml_type, std::span<const uint8_t> data, int64_t rows, int64_t cols,
                 std::string_view path, std::string_view name, DecodedTernary& out) {
  out.scale = 0, out.uniform_scale = true, out.from_latent = false;
  try {
    const GgmlTypeTraits& t = require_format(ggml_type, rows, cols, fmt::format("tensor '{}'", name));
    const uint64_t want = tensor_bytes(ggml_type, rows, cols);
    BITLM_CHECK(data.size() == want, "tensor '{}': {} {}x{} needs {} bytes, got {}", name, t.name, rows,
                cols, want, data.size());
    out.q.resize(size_t(rows * cols));
    if (const PackedLayout* l = find_packed_layout(ggml_type)) native_decode(*l, data.data(), rows, cols, out);
    else find_codec(ggml_type)->decode(data.data(), rows, cols, out);
  } catch (const UserError& e) {
    throw FormatError(path, e.what());
  }
  if (!std::isfinite(out.scale) || out.scale < 0)
    throw FormatError(path, fmt::format("tensor '{}': scale {} is not a finite non-negative number", name, out.scale));
}

}  // namespace

DecodedTernary decode_ternary(uint32_t ggml_type, std::span<const uint8_t> data, int64_t rows,
                              int64_t cols, std::string_view path, std::string_view name) {
  DecodedTernary out;
  decode_into(ggml_type, data, rows, cols, path, name, out);
  return out;
}

float decode_ternary(const std::string& path, const std::string& name, uint32_t ggml_type,
                     std::span<const uint8_t> data, int64_t rows, int64_t cols, DecodedTernary& out) {
  decode_into(ggml_type, data, rows, cols, path, name, out);
  if (!out.uniform_scale)
    throw FormatError(path, fmt::format("tensor '{}': blocks carry different scales; bitlm needs one "
                                        "scale per tensor (003 eq. 5)", name));
  return out.scale;
}

std::vector<uint8_t> encode_ternary(uint32_t ggml_type, std::span<const int8_t> q, int64_t rows,
                                    int64_t cols, float scale, std::string_view what) {
  require_format(ggml_type, rows, cols, what);
  BITLM_ASSERT(int64_t(q.size()) == rows * cols);
  std::vector<uint8_t> out(tensor_bytes(ggml_type, rows, cols));
  if (const PackedLayout* l = find_packed_layout(ggml_type)) native_encode(*l, q.data(), rows, cols, scale, out.data());
  else find_codec(ggml_type)->encode(q.data(), rows, cols, scale, out.data());
  return out;
}

namespace {

constexpr TernaryWriteType kWriteTypes[] = {
    {"t2", kGgmlBitlmT2, "bitlm"},
    {"t1", kGgmlBitlmT1, "bitlm"},
    {"tq2_0", kGgmlTQ2_0, "llama.cpp, bitnet.cpp, bitlm"},
    {"tq1_0", kGgmlTQ1_0, "llama.cpp, bitnet.cpp, bitlm"},
    {"i2_s", kGgmlI2_S, "bitnet.cpp, bitlm; ik_llama.cpp after its llama-quantize"},
    {"iq2_bn", kGgmlIQ2_BN, "ik_llama.cpp (rows of >= 512 weights), bitlm"},
    {"iq1_bn", kGgmlIQ1_BN, "ik_llama.cpp (rows of >= 512 weights), bitlm"},
};

}  // namespace

std::span<const TernaryWriteType> ternary_write_types() { return kWriteTypes; }

bool is_ternary_write_type(uint32_t type) {
  return std::any_of(std::begin(kWriteTypes), std::end(kWriteTypes), [type](const auto& t) { return t.type == type; });
}

uint32_t ternary_write_type(std::string_view name) {
  std::string names;
  for (const TernaryWriteType& t : kWriteTypes) {
    if (t.name == name) return t.type;
    names += (names.empty() ? "" : ", ") + std::string(t.name);
  }
  throw UserError(fmt::format("weight type '{}' is not one of {}", name, names));
}

std::string ternary_write_type_help() {
  std::string s;
  for (const TernaryWriteType& t : kWriteTypes)
    s += fmt::format("{}{} ({:.3g} bits/weight; read by {})", s.empty() ? "" : ", ", t.name,
                     ggml_type_traits(t.type)->bits_per_weight(), t.readers);
  return s;
}

int64_t ternary_cols_multiple(uint32_t type) {
  BITLM_CHECK(is_ternary_format(type), "ggml type {} is not a ternary weight format", ggml_type_name(type));
  const GgmlTypeTraits& t = *ggml_type_traits(type);
  return t.storage == GgmlStorage::kRowsScaleTail ? 1 : t.block_elems;
}

// ---- dense ----
bool dense_type_supported(uint32_t t) {
  return t == kGgmlF32 || t == kGgmlF16 || t == kGgmlBF16 || t == kGgmlQ8_0 || t == kGgmlQ6_K || t == kGgmlQ4_0;
}

uint64_t dense_row_bytes(uint32_t t, int64_t cols) {
  BITLM_CHECK(dense_type_supported(t), "ggml type {} is not a supported dense type", t);
  const GgmlTypeTraits& g = *ggml_type_traits(t);
  BITLM_CHECK(cols > 0 && cols % g.block_elems == 0, "ggml type {}: row length {} is not a multiple of {}", t, cols,
              g.block_elems);
  return uint64_t(cols) / g.block_elems * g.block_bytes;
}

namespace {

void q6k_decode_block(const uint8_t* blk, float* y) {
  const uint8_t* ql = blk;
  const uint8_t* qh = blk + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
  const float d = fp16_to_f32(load_u16(blk + 208));
  for (int n = 0; n < 2; ++n, y += 128, ql += 64, qh += 32, sc += 8)
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      y[l] = d * sc[is] * float(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
      y[l + 32] = d * sc[is + 2] * float(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
      y[l + 64] = d * sc[is + 4] * float(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      y[l + 96] = d * sc[is + 6] * float(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
    }
}

int nearest_int(float v) { return nearest_int_saturated(v); }  // NaN -> 0, saturating

// ggml quantize_row_q6_K_ref with make_qx_quants' first guess (scale = max / -32, no rmse search).
void q6k_encode_block(const float* x, uint8_t* blk) {
  float scales[16];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    float mx = 0, amax = 0;
    for (int i = 0; i < 16; ++i)
      if (std::fabs(x[16 * ib + i]) > amax) { amax = std::fabs(x[16 * ib + i]); mx = x[16 * ib + i]; }
    scales[ib] = mx / -32.0f;
    if (std::fabs(scales[ib]) > max_abs_scale) { max_abs_scale = std::fabs(scales[ib]); max_scale = scales[ib]; }
  }
  std::memset(blk, 0, size_t(kQ6KBytes));
  if (max_abs_scale < 1e-15f) return;  // ggml GROUP_MAX_EPS: an all-zero block
  const float iscale = -128.0f / max_scale;
  store_u16(blk + 208, f32_to_fp16(1.0f / iscale));
  const float d = fp16_to_f32(load_u16(blk + 208));
  int8_t* sc = reinterpret_cast<int8_t*>(blk + 192);
  uint8_t L[256];
  for (int ib = 0; ib < 16; ++ib) {
    sc[ib] = int8_t(std::min(127, nearest_int(iscale * scales[ib])));
    const float ds = d * sc[ib];
    for (int i = 0; i < 16; ++i)
      L[16 * ib + i] = uint8_t(ds == 0 ? 32 : std::clamp(nearest_int(x[16 * ib + i] / ds), -32, 31) + 32);
  }
  uint8_t* ql = blk;
  uint8_t* qh = blk + 128;
  for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
    for (int l = 0; l < 32; ++l) {
      const uint8_t* Lj = L + j + l;
      ql[l] = uint8_t((Lj[0] & 0xF) | ((Lj[64] & 0xF) << 4));
      ql[l + 32] = uint8_t((Lj[32] & 0xF) | ((Lj[96] & 0xF) << 4));
      qh[l] = uint8_t((Lj[0] >> 4) | ((Lj[32] >> 4) << 2) | ((Lj[64] >> 4) << 4) | ((Lj[96] >> 4) << 6));
    }
}

}  // namespace

void decode_dense_row(uint32_t t, const uint8_t* row, int64_t cols, float* out) {
  switch (t) {
    case kGgmlF32: std::memcpy(out, row, size_t(cols) * 4); return;
    case kGgmlF16: for (int64_t i = 0; i < cols; ++i) out[i] = fp16_to_f32(load_u16(row + 2 * i)); return;
    case kGgmlBF16: for (int64_t i = 0; i < cols; ++i) out[i] = bf16_to_f32(load_u16(row + 2 * i)); return;
    case kGgmlQ8_0:
      for (int64_t b = 0; b < cols / kQ80Block; ++b) {
        const uint8_t* blk = row + b * kQ80Bytes;
        const float d = fp16_to_f32(load_u16(blk));
        for (int i = 0; i < kQ80Block; ++i) out[b * kQ80Block + i] = d * float(int8_t(blk[2 + i]));
      }
      return;
    case kGgmlQ6_K:
      for (int64_t b = 0; b < cols / kQK; ++b) q6k_decode_block(row + b * kQ6KBytes, out + b * kQK);
      return;
    case kGgmlQ4_0:  // element j in the low nibble of byte j, j + 16 in the high one; w = d * (q - 8)
      for (int64_t b = 0; b < cols / kQ80Block; ++b) {
        const uint8_t* blk = row + b * kQ40Bytes;
        const float d = fp16_to_f32(load_u16(blk));
        for (int i = 0; i < 16; ++i) {
          out[b * kQ80Block + i] = d * float(int(blk[2 + i] & 0xF) - 8);
          out[b * kQ80Block + i + 16] = d * float(int(blk[2 + i] >> 4) - 8);
        }
      }
      return;
    default: BITLM_ASSERT(!"decode_dense_row: unsupported type");
  }
}

void encode_dense_row(uint32_t t, const float* x, int64_t cols, uint8_t* out) {
  switch (t) {
    case kGgmlF32: std::memcpy(out, x, size_t(cols) * 4); return;
    case kGgmlF16: for (int64_t i = 0; i < cols; ++i) store_u16(out + 2 * i, f32_to_fp16(x[i])); return;
    case kGgmlBF16: for (int64_t i = 0; i < cols; ++i) store_u16(out + 2 * i, f32_to_bf16(x[i])); return;
    case kGgmlQ8_0:  // ggml quantize_row_q8_0_ref
      for (int64_t b = 0; b < cols / kQ80Block; ++b) {
        const float* xb = x + b * kQ80Block;
        uint8_t* blk = out + b * kQ80Bytes;
        float amax = 0;
        for (int i = 0; i < kQ80Block; ++i) amax = std::max(amax, std::fabs(xb[i]));
        const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        store_u16(blk, f32_to_fp16(d));
        for (int i = 0; i < kQ80Block; ++i) blk[2 + i] = uint8_t(int8_t(clamp_nan_low(std::round(xb[i] * id), -127.0f, 127.0f)));
      }
      return;
    case kGgmlQ6_K:
      for (int64_t b = 0; b < cols / kQK; ++b) q6k_encode_block(x + b * kQK, out + b * kQ6KBytes);
      return;
    case kGgmlQ4_0:  // ggml quantize_row_q4_0_ref: d = (signed absmax) / -8, so the largest lands on q = 0
      for (int64_t b = 0; b < cols / kQ80Block; ++b) {
        const float* xb = x + b * kQ80Block;
        uint8_t* blk = out + b * kQ40Bytes;
        float amax = 0, max = 0;
        for (int i = 0; i < kQ80Block; ++i)
          if (std::fabs(xb[i]) > amax) { amax = std::fabs(xb[i]); max = xb[i]; }
        const float d = max / -8.0f, id = d != 0 ? 1.0f / d : 0.0f;
        store_u16(blk, f32_to_fp16(d));
        const auto code = [&](float v) { return uint8_t(clamp_nan_low(v * id + 8.5f, 0.0f, 15.0f)); };  // truncated, as ggml
        for (int i = 0; i < 16; ++i) blk[2 + i] = uint8_t(code(xb[i]) | (code(xb[i + 16]) << 4));
      }
      return;
    default: BITLM_ASSERT(!"encode_dense_row: unsupported type");
  }
}

}  // namespace bitlm
