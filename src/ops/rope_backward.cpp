// ops/rope_backward.cpp — RoPE backward. The forward rotates each pair by +angle(pos); a rotation's
// transpose is the rotation by -angle, and angle is linear in pos, so the backward is the forward
// at negated positions (cos is even, sin odd: bit-identical to an explicit inverse rotation).
#include <vector>

#include "ops/ops.h"
#include "ops/ops_backward.h"

namespace bitlm {

void rope_backward(Mat<float> dx, int n_heads, int head_dim, std::span<const int32_t> pos,
                   float theta, bool neox) {
  std::vector<int32_t> neg(pos.size());
  for (size_t i = 0; i < pos.size(); ++i) neg[i] = -pos[i];
  rope_forward(dx, n_heads, head_dim, neg, theta, neox);
}

}  // namespace bitlm
