// quant/dot_dense_ref.cpp — scalar dots of encoded dense rows (F16, BF16, Q8_0, Q6_K; layouts in
// quant/ternary_formats.h) with float x: the spec of the DotRow kernels in quant/kernels.h; and
// of the int8-activation dots of Q8_0 and Q6_K rows (DotQ8Q8, DotQ6KQ8).
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "quant/quantize.h"
#include "quant/kernels.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {
uint16_t u16(const uint8_t* p) { uint16_t h; std::memcpy(&h, p, 2); return h; }

// The 256 values q - 32 of a Q6_K block (ggml dequantize_row_q6_K's index math, without the scales):
// per 128-half, ql holds the low nibbles of values l and l+64 (byte l) and l+32 and l+96 (byte
// l+32), qh byte l the 2 high bits of l, l+32, l+64, l+96.
void q6_k_codes(const uint8_t* blk, int32_t* v) {
  for (int h = 0; h < 2; ++h, v += 128) {
    const uint8_t* ql = blk + 64 * h;
    const uint8_t* qh = blk + 128 + 32 * h;
    for (int l = 0; l < 32; ++l) {
      v[l] = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
      v[l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      v[l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      v[l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
    }
  }
}
}  // namespace

void quantize_q8_k_blocks(const float* x, int64_t n, int8_t* xq, float* xd, int16_t* xsum16) {
  quantize_absmax_int8_groups({x, size_t(n)}, n / 256, {xq, size_t(n)}, {xd, size_t(n / 256)});
  for (int64_t b = 0; b < n / 256; ++b) xd[b] = 1.0f / xd[b];  // 127/amax -> the block's step
  for (int64_t g = 0; g < n / 16; ++g) {
    int32_t s = 0;
    for (int i = 0; i < 16; ++i) s += xq[16 * g + i];
    xsum16[g] = int16_t(s);  // |s| <= 16 * 128
  }
}

float dot_f16_ref(const uint8_t* row, const float* x, int64_t n) {
  float acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += fp16_to_f32(u16(row + 2 * i)) * x[i];
  return acc;
}

float dot_bf16_ref(const uint8_t* row, const float* x, int64_t n) {
  float acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += bf16_to_f32(u16(row + 2 * i)) * x[i];
  return acc;
}

float dot_q8_0_ref(const uint8_t* row, const float* x, int64_t n) {  // 34-byte blocks: f16 d, 32 int8
  float acc = 0;
  for (int64_t b = 0; b < n / 32; ++b, row += 34, x += 32) {
    float s = 0;
    for (int i = 0; i < 32; ++i) s += float(int8_t(row[2 + i])) * x[i];
    acc += fp16_to_f32(u16(row)) * s;
  }
  return acc;
}

float dot_q8_0_q8_ref(const uint8_t* row, const int8_t* xq, const float* xd, int64_t n) {
  float acc = 0;
  for (int64_t b = 0; b < n / 32; ++b, row += 34, xq += 32) {
    int32_t s = 0;
    for (int i = 0; i < 32; ++i) s += int32_t(int8_t(row[2 + i])) * xq[i];
    acc += fp16_to_f32(u16(row)) * xd[b] * float(s);
  }
  return acc;
}

float dot_q4_0_q8_ref(const uint8_t* row, const int8_t* xq, const float* xd, int64_t n) {
  float acc = 0;
  for (int64_t b = 0; b < n / 32; ++b, row += 18, xq += 32) {
    int32_t s = 0;
    for (int i = 0; i < 16; ++i)
      s += (int32_t(row[2 + i] & 0xF) - 8) * xq[i] + (int32_t(row[2 + i] >> 4) - 8) * xq[i + 16];
    acc += fp16_to_f32(u16(row)) * xd[b] * float(s);
  }
  return acc;
}

// Uses (q - 32) * x directly, not xsum16: the kernels' offset trick is checked against this.
// |sum| <= 16 groups * 128 * 16 * 32 * 128 < 2^31: exact in int32.
float dot_q6_k_q8_ref(const uint8_t* row, const int8_t* xq, const float* xd, const int16_t*, int64_t n) {
  float acc = 0;
  int32_t v[256];
  for (int64_t b = 0; b < n / 256; ++b, row += 210, xq += 256) {
    q6_k_codes(row, v);
    const int8_t* sc = reinterpret_cast<const int8_t*>(row + 192);
    int32_t s = 0;
    for (int g = 0; g < 16; ++g) {
      int32_t sg = 0;
      for (int i = 16 * g; i < 16 * g + 16; ++i) sg += v[i] * xq[i];
      s += sc[g] * sg;
    }
    acc = std::fma(fp16_to_f32(u16(row + 208)) * xd[b], float(s), acc);
  }
  return acc;
}

float dot_q6_k_ref(const uint8_t* row, const float* x, int64_t n) {  // decode_dense_row is the spec
  float y[256], acc = 0;
  for (int64_t b = 0; b < n / 256; ++b, row += 210, x += 256) {
    decode_dense_row(kGgmlQ6_K, row, 256, y);
    for (int i = 0; i < 256; ++i) acc += y[i] * x[i];
  }
  return acc;
}

}  // namespace bitlm
