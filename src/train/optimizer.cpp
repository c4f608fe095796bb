// train/optimizer.cpp — see optimizer.h.
#include "train/optimizer.h"

#include <cmath>

#include "core/error.h"

namespace bitlm {

bool is_decayed(ParamKind kind) { return kind == ParamKind::kBitLinear || kind == ParamKind::kHead; }

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
      for (int64_t i = i0; i < i1; ++i) {
        p[i] *= decay;
        m[i] = m[i] * b1 + g[i] * (1.0f - b1);
        v[i] = v[i] * b2 + g[i] * g[i] * (1.0f - b2);
        p[i] -= step_size * (m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps));
      }
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
