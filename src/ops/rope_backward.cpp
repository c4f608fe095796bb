// ops/rope_backward.cpp — RoPE from a table of cos/sin (ops_backward.h), forward and backward.
// The forward rotates each pair by +angle(pos); a rotation's transpose is the rotation by -angle:
// the same cos and the negated sin (cos is even, sin odd: bit-identical to rope_forward at
// negated positions).
#include <cmath>

#include "core/error.h"
#include "ops/ops_backward.h"

namespace bitlm {
namespace {

// sin_sign -1: the inverse rotation. Same float operations as rope.cpp's rotate.
void rotate_rows(Mat<float> x, int n_heads, const RopeTable& table, std::span<const int32_t> pos,
                 bool neox, float sin_sign) {
  const int head_dim = table.head_dim, half = head_dim / 2;
  BITLM_ASSERT(x.cols >= int64_t(n_heads) * head_dim && int64_t(pos.size()) == x.rows);
  for (int64_t t = 0; t < x.rows; ++t) {
    BITLM_ASSERT(pos[size_t(t)] >= 0 && size_t(pos[size_t(t)] + 1) * size_t(half) <= table.cos.size());
    const float* c = table.cos.data() + int64_t(pos[size_t(t)]) * half;
    const float* s = table.sin.data() + int64_t(pos[size_t(t)]) * half;
    for (int h = 0; h < n_heads; ++h) {
      float* v = x.row_ptr(t) + int64_t(h) * head_dim;
      for (int i = 0; i < half; ++i) {
        float& a = neox ? v[i] : v[2 * i];
        float& b = neox ? v[i + half] : v[2 * i + 1];
        const float x0 = a, x1 = b, sn = sin_sign * s[i];
        a = x0 * c[i] - x1 * sn;
        b = x1 * c[i] + x0 * sn;
      }
    }
  }
}

}  // namespace

RopeTable rope_table(int64_t n_pos, int head_dim, float theta) {
  BITLM_ASSERT(head_dim % 2 == 0 && n_pos >= 0);
  const int half = head_dim / 2;
  RopeTable table{head_dim, std::vector<float>(size_t(n_pos * half)), std::vector<float>(size_t(n_pos * half))};
  for (int64_t p = 0; p < n_pos; ++p)
    for (int i = 0; i < half; ++i) {  // rope_forward's formula
      const double angle = double(p) * std::pow(double(theta), -2.0 * i / head_dim);
      table.cos[size_t(p * half + i)] = float(std::cos(angle));
      table.sin[size_t(p * half + i)] = float(std::sin(angle));
    }
  return table;
}

void rope_forward_table(Mat<float> x, int n_heads, const RopeTable& table, std::span<const int32_t> pos, bool neox) {
  rotate_rows(x, n_heads, table, pos, neox, 1.0f);
}

void rope_backward(Mat<float> dx, int n_heads, const RopeTable& table, std::span<const int32_t> pos, bool neox) {
  rotate_rows(dx, n_heads, table, pos, neox, -1.0f);
}

}  // namespace bitlm
