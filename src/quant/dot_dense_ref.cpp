// quant/dot_dense_ref.cpp — scalar dots of encoded dense rows (F16, BF16, Q8_0, Q6_K; layouts in
// quant/ternary_formats.h) with float x: the spec of the DotRow kernels in quant/gemv_t2.h.
#include <cstring>

#include "core/fp16.h"
#include "quant/gemv_t2.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {
uint16_t u16(const uint8_t* p) { uint16_t h; std::memcpy(&h, p, 2); return h; }
}  // namespace

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

float dot_q6_k_ref(const uint8_t* row, const float* x, int64_t n) {  // decode_dense_row is the spec
  float y[256], acc = 0;
  for (int64_t b = 0; b < n / 256; ++b, row += 210, x += 256) {
    decode_dense_row(type_id::kQ6_K, row, 256, y);
    for (int i = 0; i < 256; ++i) acc += y[i] * x[i];
  }
  return acc;
}

}  // namespace bitlm
