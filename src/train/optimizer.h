// train/optimizer.h — AdamW with fp32 states (decoupled weight decay, Loshchilov & Hutter), the
// exact update order of torch.optim.AdamW so the PyTorch reference agrees to float rounding:
//   p *= 1 - lr*wd;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
// Weight decay goes to BitLinear weights and an untied head only; norms and the token embedding
// are never decayed (TensorKind). Also: the global gradient norm and clipping.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "train/train_model.h"

namespace bitlm {

struct AdamWConfig {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;  // 003 App. C: Adam beta (0.9, 0.95)
};

bool is_decayed(TensorKind kind);

class AdamW {
 public:
  AdamW(size_t n_params, AdamWConfig config) : cfg_(config), m_(n_params, 0.0f), v_(n_params, 0.0f) {}
  // One update of every tensor in `tensors` (offsets into params/grads/states).
  void step(std::span<const ParamTensor> tensors, std::span<float> params,
            std::span<const float> grads, float lr, float weight_decay, ThreadPool& pool);

  int64_t steps() const { return t_; }
  // For checkpoints: the moments and the step count.
  std::span<float> m() { return m_; }
  std::span<float> v() { return v_; }
  void set_steps(int64_t t) { t_ = t; }
  const AdamWConfig& config() const { return cfg_; }

 private:
  AdamWConfig cfg_;
  std::vector<float> m_, v_;
  int64_t t_ = 0;
};

// sqrt(sum g^2) in double, summed in a fixed order.
double grad_norm(std::span<const float> grads);
// Scales grads by max_norm / norm when norm > max_norm (> 0). Returns the norm before clipping.
double clip_grad_norm(std::span<float> grads, float max_norm);

}  // namespace bitlm
