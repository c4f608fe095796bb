// quant/gemv_t1_neon.cpp — T1 kernels for ARMv8.2 dot product (compiled on aarch64 only; layout in
// quant/packed_layout.h, contract in quant/kernels.h). A 32-byte block holds 160 weights: byte j,
// base-3 digit n is weight 32n + j. Digit n's code is ((uint8)(b * 3^n) * 3) >> 8 (gemv_t1_ref):
// a wrapping u8 multiply, then the high bytes of a widening multiply by 3. Codes 0..2 are valid
// signed int8, so the signed vdotq_s32 gives dot(code, x) directly, as for T2.
#include <arm_neon.h>

#include "quant/kernels.h"
#include "quant/native_rows_neon.h"

namespace bitlm {
namespace {

inline int8x16_t high_bytes_times3(uint8x16_t m) {
  const uint16x8_t lo = vmull_u8(vget_low_u8(m), vdup_n_u8(3)), hi = vmull_high_u8(m, vdupq_n_u8(3));
  return vreinterpretq_s8_u8(vuzp2q_u8(vreinterpretq_u8_u16(lo), vreinterpretq_u8_u16(hi)));
}

struct T1Layout {
  static constexpr int64_t kWeightsPerBlock = 160;
  struct Codes { int8x16_t lo[5], hi[5]; };  // digit n of bytes 0-15 / 16-31: weights 32n + j

  static Codes decode(const uint8_t* block) {
    static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
    const uint8x16_t a = vld1q_u8(block), b = vld1q_u8(block + 16);
    Codes c;
    for (int n = 0; n < 5; ++n) {
      const uint8x16_t p = vdupq_n_u8(kPow3[n]);
      c.lo[n] = high_bytes_times3(vmulq_u8(a, p));
      c.hi[n] = high_bytes_times3(vmulq_u8(b, p));
    }
    return c;
  }

  static int32x4_t block_dot(int32x4_t acc, const Codes& c, const int8_t* x) {
    for (int n = 0; n < 5; ++n) {
      acc = vdotq_s32(acc, c.lo[n], vld1q_s8(x + 32 * n));
      acc = vdotq_s32(acc, c.hi[n], vld1q_s8(x + 32 * n + 16));
    }
    return acc;
  }
};

}  // namespace

void gemv_t1_neon(const uint8_t* w, int64_t row_bytes, const int8_t* x, int32_t x_sum, int32_t* y,
                  int64_t n_rows) {
  native_neon::gemv_rows<T1Layout>(w, row_bytes, x, x_sum, y, n_rows);
}

void gemm_t1_neon(const uint8_t* w, int64_t row_bytes, const int8_t* x, int64_t x_stride,
                  const int32_t* x_sum, int64_t T, int32_t* y, int64_t y_stride, int64_t n_rows) {
  native_neon::gemm_rows<T1Layout>(w, row_bytes, x, x_stride, x_sum, T, y, y_stride, n_rows);
}

}  // namespace bitlm
