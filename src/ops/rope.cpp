// ops/rope.cpp — rotary position embedding in place on x: (T, n_heads*Dh), forward and backward.
// Pair i of a head (i < Dh/2) rotates by angle pos * theta^(-2i/Dh). NEOX pairs are
// (i, i + Dh/2) (HF rotate_half; every BitNet arch); the original-Llama pairs are (2i, 2i+1).
// Angles are computed in double so that position 4000 is still accurate to float precision.
// Training (ops_backward.h) reads the cos/sin from a table computed once with the same formula;
// the backward rotates by -angle(pos): the same cos and the negated sin (cos is even, sin odd:
// bit-identical to rope_forward at negated positions), as a rotation's transpose is its inverse.
#include <cmath>

#include "core/error.h"
#include "ops/ops.h"
#include "ops/ops_backward.h"

namespace bitlm {
namespace {

inline void rotate(float& a, float& b, float c, float s) {
  const float x0 = a, x1 = b;
  a = x0 * c - x1 * s;
  b = x1 * c + x0 * s;
}

inline double rope_angle(int64_t pos, int i, int head_dim, float theta) {
  return double(pos) * std::pow(double(theta), -2.0 * i / head_dim);
}

// sin_sign -1: the inverse rotation.
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
        if (neox) rotate(v[i], v[i + half], c[i], sin_sign * s[i]);
        else rotate(v[2 * i], v[2 * i + 1], c[i], sin_sign * s[i]);
      }
    }
  }
}

}  // namespace

void rope_forward(Mat<float> x, int n_heads, int head_dim, std::span<const int32_t> pos,
                  float theta, bool neox) {
  BITLM_ASSERT(head_dim % 2 == 0 && x.cols >= int64_t(n_heads) * head_dim);
  BITLM_ASSERT(int64_t(pos.size()) == x.rows);
  const int half = head_dim / 2;
  float cos_t[1024], sin_t[1024];  // head_dim <= 2048: every published model uses <= 256
  BITLM_ASSERT(half <= 1024);
  for (int64_t t = 0; t < x.rows; ++t) {
    for (int i = 0; i < half; ++i) {
      const double angle = rope_angle(pos[size_t(t)], i, head_dim, theta);
      cos_t[i] = float(std::cos(angle));
      sin_t[i] = float(std::sin(angle));
    }
    for (int h = 0; h < n_heads; ++h) {
      float* v = x.row_ptr(t) + int64_t(h) * head_dim;
      for (int i = 0; i < half; ++i) {
        if (neox) rotate(v[i], v[i + half], cos_t[i], sin_t[i]);
        else rotate(v[2 * i], v[2 * i + 1], cos_t[i], sin_t[i]);
      }
    }
  }
}

RopeTable rope_table(int64_t n_pos, int head_dim, float theta) {
  BITLM_ASSERT(head_dim % 2 == 0 && n_pos >= 0);
  const int half = head_dim / 2;
  RopeTable table{head_dim, std::vector<float>(size_t(n_pos * half)), std::vector<float>(size_t(n_pos * half))};
  for (int64_t p = 0; p < n_pos; ++p)
    for (int i = 0; i < half; ++i) {
      const double angle = rope_angle(p, i, head_dim, theta);
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
