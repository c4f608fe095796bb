// quant/trits.h — the base-3 byte of llama.cpp's TQ1_0, shared by its codec and bitlm's T1: up to
// 5 ternary codes (w + 1, first most significant) as the fixed point ceil(v * 256 / 243), so that
// digit n is ((uint8)(b * 3^n) * 3) >> 8 — multiplications only, no division.
#pragma once
#include <cstdint>

namespace bitlm {

// n values (n <= 5) q[0], q[stride], ... in {-1,0,+1} as one byte; missing digits are code 0.
inline uint8_t trit_byte(const int8_t* q, int64_t stride, int n) {
  unsigned v = 0;
  for (int i = 0; i < n; ++i) v = v * 3 + unsigned(q[i * stride] + 1);
  for (int i = n; i < 5; ++i) v *= 3;
  return uint8_t((v * 256 + 242) / 243);  // ceil(v * 256 / 243)
}

// Value n (0..4) of a trit byte, in {-1,0,+1}.
inline int8_t trit(uint8_t b, int n) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  return int8_t(((unsigned(uint8_t(b * kPow3[n])) * 3) >> 8) - 1);
}

}  // namespace bitlm
