// ops/rope.cpp — rotary position embedding in place on x: (T, n_heads*Dh).
// Pair i of a head (i < Dh/2) rotates by angle pos * theta^(-2i/Dh). NEOX pairs are
// (i, i + Dh/2) (HF rotate_half; every BitNet arch); the original-Llama pairs are (2i, 2i+1).
// Angles are computed in double so that position 4000 is still accurate to float precision.
#include <cmath>

#include "core/error.h"
#include "ops/ops.h"

namespace bitlm {
namespace {

inline void rotate(float& a, float& b, float c, float s) {
  const float x0 = a, x1 = b;
  a = x0 * c - x1 * s;
  b = x1 * c + x0 * s;
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
      const double angle = double(pos[size_t(t)]) * std::pow(double(theta), -2.0 * i / head_dim);
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

}  // namespace bitlm
