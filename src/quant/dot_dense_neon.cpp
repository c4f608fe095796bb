// quant/dot_dense_neon.cpp — the int8-activation head dots for ARMv8.2 dot product (compiled on
// aarch64 only; contracts in quant/kernels.h, layouts in quant/ternary_formats.h): Q8_0 x Q8_0
// and Q6_K x Q8_K. vdotq_s32 sums 4 int8 x int8 products per int32 lane; each block's int32 sum
// is exact, and the blocks are added to one float in ref's order with ref's expression, so the
// result equals ref bit for bit.
#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "core/prefetch.h"
#include "quant/kernels.h"

namespace bitlm {
namespace {

float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16_to_f32(h);
}

// The values q - 32 (-32..31, valid int8) of one 128-half of a Q6_K block (layout in
// dot_dense_ref.cpp), one 16-value group per vector: v[k] holds values 16k .. 16k+15. Low nibbles
// of ql bytes 0..63 are values 0..63, high nibbles values 64..127; qh's 2-bit field f (bits 2f,
// 2f+1) of byte l is the high pair of value l + 32f, moved to bits 4-5 by the mask 0x30.
void q6_k_half_values(const uint8_t* ql, const uint8_t* qh, int8x16_t v[8]) {
  const uint8x16_t m4 = vdupq_n_u8(0x0f), m30 = vdupq_n_u8(0x30);
  const int8x16_t k32 = vdupq_n_s8(32);
  const uint8x16_t h[2] = {vld1q_u8(qh), vld1q_u8(qh + 16)};
  for (int k = 0; k < 4; ++k) {
    const uint8x16_t l = vld1q_u8(ql + 16 * k);
    const uint8x16_t hb = h[k % 2];
    const uint8x16_t high_lo = k < 2 ? vshlq_n_u8(hb, 4) : vshlq_n_u8(hb, 2);  // field k / 2 (values < 64)
    const uint8x16_t high_hi = k < 2 ? hb : vshrq_n_u8(hb, 2);                  // field 2 + k / 2
    v[k] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(l, m4), vandq_u8(high_lo, m30))), k32);
    v[k + 4] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(l, 4), vandq_u8(high_hi, m30))), k32);
  }
}

// Lane g of the result: the dot of group 4i + g (values v[4i + g]) with its 16 x.
int32x4_t group_dots(const int8x16_t* v, const int8_t* x) {
  int32x4_t d[4];
  for (int g = 0; g < 4; ++g) d[g] = vdotq_s32(vdupq_n_s32(0), v[g], vld1q_s8(x + 16 * g));
  return vpaddq_s32(vpaddq_s32(d[0], d[1]), vpaddq_s32(d[2], d[3]));
}

}  // namespace

float dot_q8_0_q8_neon(const uint8_t* row, const int8_t* xq, const float* xd, int64_t n) {
  float acc = 0;
  for (int64_t b = 0; b < n / 32; ++b, row += 34, xq += 32) {
    prefetch_ahead(row);  // every line of the row, one block at a time (DotQ8Q8 in quant/kernels.h)
    const int8_t* w = reinterpret_cast<const int8_t*>(row + 2);
    const int32x4_t p = vdotq_s32(vdotq_s32(vdupq_n_s32(0), vld1q_s8(w), vld1q_s8(xq)), vld1q_s8(w + 16),
                                  vld1q_s8(xq + 16));
    acc += f16_at(row) * xd[b] * float(vaddvq_s32(p));
  }
  return acc;
}

// Per block: the 16 group dots of q - 32 with x, times their int8 scales, summed in int32 (|s| <
// 2^31, dot_q6_k_q8_ref); xsum16 is not needed, the -32 is subtracted from the codes instead.
float dot_q6_k_q8_neon(const uint8_t* row, const int8_t* xq, const float* xd, const int16_t*, int64_t n) {
  float acc = 0;
  for (int64_t b = 0; b < n / 256; ++b, row += 210, xq += 256) {
    prefetch_ahead(row, 210);  // spread over the row's blocks (DotQ6KQ8 in quant/kernels.h)
    const int8x16_t sc = vld1q_s8(reinterpret_cast<const int8_t*>(row + 192));
    const int16x8_t sc_lo = vmovl_s8(vget_low_s8(sc)), sc_hi = vmovl_s8(vget_high_s8(sc));
    const int32x4_t scale[4] = {vmovl_s16(vget_low_s16(sc_lo)), vmovl_s16(vget_high_s16(sc_lo)),
                                vmovl_s16(vget_low_s16(sc_hi)), vmovl_s16(vget_high_s16(sc_hi))};
    int32x4_t isum = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h) {
      int8x16_t v[8];
      q6_k_half_values(row + 64 * h, row + 128 + 32 * h, v);
      isum = vmlaq_s32(isum, group_dots(v, xq + 128 * h), scale[2 * h]);
      isum = vmlaq_s32(isum, group_dots(v + 4, xq + 128 * h + 64), scale[2 * h + 1]);
    }
    acc = std::fma(f16_at(row + 208) * xd[b], float(vaddvq_s32(isum)), acc);
  }
  return acc;
}

}  // namespace bitlm
