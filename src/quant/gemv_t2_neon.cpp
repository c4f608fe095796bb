// quant/gemv_t2_neon.cpp — T2 kernels for ARMv8.2 dot product (compiled on aarch64 only; layout and
// contract in quant/gemv_t2.h). The same bytes as on x86: a 32-byte block is two 16-byte vectors;
// code slice k = (byte >> 2k) & 3 pairs with x[32k ..]; codes 0..2 are valid signed int8, so the
// signed vdotq_s32 gives dot(code, x) directly.
#include <arm_neon.h>

#include "quant/gemv_t2.h"

namespace bitlm {
namespace {

struct Codes { int8x16_t lo[4], hi[4]; };

inline Codes decode(const uint8_t* block) {
  const uint8x16_t m3 = vdupq_n_u8(3);
  const uint8x16_t a = vld1q_u8(block), b = vld1q_u8(block + 16);
  Codes c;
  c.lo[0] = vreinterpretq_s8_u8(vandq_u8(a, m3));
  c.hi[0] = vreinterpretq_s8_u8(vandq_u8(b, m3));
  c.lo[1] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(a, 2), m3));
  c.hi[1] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(b, 2), m3));
  c.lo[2] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(a, 4), m3));
  c.hi[2] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(b, 4), m3));
  c.lo[3] = vreinterpretq_s8_u8(vshrq_n_u8(a, 6));
  c.hi[3] = vreinterpretq_s8_u8(vshrq_n_u8(b, 6));
  return c;
}

inline int32x4_t block_dot(int32x4_t acc, const Codes& c, const int8_t* x) {
  for (int k = 0; k < 4; ++k) {
    acc = vdotq_s32(acc, c.lo[k], vld1q_s8(x + 32 * k));
    acc = vdotq_s32(acc, c.hi[k], vld1q_s8(x + 32 * k + 16));
  }
  return acc;
}

constexpr int kTokenTile = 4;

}  // namespace

void gemv_t2_neon(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum, int32_t* y,
                  int64_t n_rows) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = w + r * row_bytes;
    int32x4_t acc = vdupq_n_s32(0);
    for (int64_t b = 0; b < row_bytes; b += 32) acc = block_dot(acc, decode(row + b), x + 4 * b);
    y[r] = vaddvq_s32(acc) - x_sum;
  }
}

void gemm_t2_neon(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                  const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  for (int64_t t0 = 0; t0 < T; t0 += kTokenTile) {
    const int nt = int(T - t0 < kTokenTile ? T - t0 : kTokenTile);
    const int8_t* xt = x + t0 * x_stride;
    for (int64_t r = 0; r < n_rows; ++r) {
      const uint8_t* row = w + r * row_bytes;
      int32x4_t acc[kTokenTile];
      for (auto& a : acc) a = vdupq_n_s32(0);
      for (int64_t b = 0; b < row_bytes; b += 32) {
        const Codes c = decode(row + b);
        for (int t = 0; t < nt; ++t) acc[t] = block_dot(acc[t], c, xt + t * x_stride + 4 * b);
      }
      for (int t = 0; t < nt; ++t) y[(t0 + t) * y_stride + r] = vaddvq_s32(acc[t]) - x_sum[t0 + t];
    }
  }
}

}  // namespace bitlm
