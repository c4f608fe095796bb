// quant/gemv_t2_neon.cpp — T2 kernels for ARMv8.2 dot product (compiled on aarch64 only; layout and
// contract in quant/kernels.h). The same bytes as on x86: a 32-byte block is two 16-byte vectors;
// code slice k = (byte >> 2k) & 3 pairs with x[32k ..]; codes 0..2 are valid signed int8, so the
// signed vdotq_s32 gives dot(code, x) directly.
#include <arm_neon.h>

#include "quant/kernels.h"
#include "quant/native_rows_neon.h"

namespace bitlm {
namespace {

struct T2Layout {
  static constexpr int64_t kWeightsPerBlock = 128;
  struct Codes { int8x16_t lo[4], hi[4]; };

  static Codes decode(const uint8_t* block) {
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

  static int32x4_t block_dot(int32x4_t acc, const Codes& c, const int8_t* x) {
    for (int k = 0; k < 4; ++k) {
      acc = vdotq_s32(acc, c.lo[k], vld1q_s8(x + 32 * k));
      acc = vdotq_s32(acc, c.hi[k], vld1q_s8(x + 32 * k + 16));
    }
    return acc;
  }
};

}  // namespace

void gemv_t2_neon(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum, int32_t* y,
                  int64_t n_rows) {
  native_neon::gemv_rows<T2Layout>(w, row_bytes, x, x_sum, y, n_rows);
}

void gemm_t2_neon(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                  const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  native_neon::gemm_rows<T2Layout>(w, row_bytes, x, x_stride, x_sum, T, y, y_stride, n_rows);
}

}  // namespace bitlm
