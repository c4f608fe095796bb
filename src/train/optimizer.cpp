// train/optimizer.cpp — see optimizer.h.
#include "train/optimizer.h"

#include <cmath>

#include "core/error.h"

namespace bitlm {

namespace {

struct Update { float decay, b1, b2, step_size, bc2_sqrt, eps; };

// n elements of one tensor. restrict parameters and this file's -fno-math-errno (CMakeLists.txt)
// let GCC vectorize the loop; the operations and their order are the scalar ones.
void update(const Update& u, float* __restrict p, const float* __restrict g, float* __restrict m,
            float* __restrict v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    p[i] *= u.decay;
    m[i] = m[i] * u.b1 + g[i] * (1.0f - u.b1);
    v[i] = v[i] * u.b2 + g[i] * g[i] * (1.0f - u.b2);
    p[i] -= u.step_size * (m[i] / (std::sqrt(v[i]) / u.bc2_sqrt + u.eps));
  }
}

}  // namespace

bool is_decayed(TensorKind kind) { return kind == TensorKind::kLinear || kind == TensorKind::kHead; }

void AdamW::step(std::span<const ParamTensor> tensors, std::span<float> params,
                 std::span<const float> grads, float lr, float weight_decay, ThreadPool& pool) {
  BITLM_ASSERT(params.size() == m_.size() && grads.size() == m_.size());
  ++t_;
  const float b1 = cfg_.beta1, b2 = cfg_.beta2, eps = cfg_.eps;
  const double bc1 = 1.0 - std::pow(double(b1), double(t_));
  const double bc2 = 1.0 - std::pow(double(b2), double(t_));
  const float step_size = float(double(lr) / bc1);
  const float bc2_sqrt = float(std::sqrt(bc2));
  for (const ParamTensor& t : tensors) {
    const float decay = is_decayed(t.kind) ? 1.0f - lr * weight_decay : 1.0f;
    float* p = params.data() + t.offset;
    const float* g = grads.data() + t.offset;
    float* m = m_.data() + t.offset;
    float* v = v_.data() + t.offset;
    pool.parallel_for(0, int64_t(t.size()), 4096, [&](int64_t i0, int64_t i1) {
      const Update u = {decay, b1, b2, step_size, bc2_sqrt, eps};
      update(u, p + i0, g + i0, m + i0, v + i0, i1 - i0);
    });
  }
}

double grad_norm(std::span<const float> grads) {
  double s = 0;
  for (float g : grads) s += double(g) * g;
  return std::sqrt(s);
}

double clip_grad_norm(std::span<float> grads, float max_norm) {
  const double norm = grad_norm(grads);
  if (max_norm > 0 && norm > max_norm) {
    const float scale = float(double(max_norm) / (norm + 1e-6));  // torch clip_grad_norm_
    for (float& g : grads) g *= scale;
  }
  return norm;
}

}  // namespace bitlm
