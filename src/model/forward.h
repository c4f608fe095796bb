// model/forward.h — the inference forward (003 Fig. 12) over a KV cache: prefill (T tokens in
// batches of up to max_batch) and decode (T = 1) are the same call.
//
// Activations: ActMode::kInt8 quantizes every BitLinear input per token with absmax (003 eq. 6-7)
// and multiplies int8 x ternary; ActMode::kNone keeps them in f32 (full-precision activations x
// ternary weights, what llama.cpp computes on an F32 file). Scales are applied after the matmul.
// fp models (ModelConfig::fp_linear) multiply f32 activations by their float weights in either mode.
// All scratch is allocated in the constructor: eval() allocates nothing.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "core/aligned.h"
#include "core/mat.h"
#include "core/thread_pool.h"
#include "model/act_quant.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "quant/matrix.h"

namespace bitlm {

enum class ActMode { kInt8, kNone };

// Named intermediate (e.g. "attn_norm", layer l, a (T, D) view), for tests and debugging.
using TapFn = std::function<void(std::string_view name, int64_t layer, Mat<const float> value)>;

class Forward {
 public:
  // kv_type: the cache's storage (kv_cache.h); q8/q4 attend over the quantized rows directly.
  Forward(const Model& model, int64_t n_ctx, ThreadPool& pool, ActMode act = ActMode::kInt8,
          int64_t max_batch = 32, KvCacheType kv_type = KvCacheType::kF16);

  // Runs `tokens` at positions kv().n_pos() ... and appends them to the cache. Logits of the
  // last token are always computed; with all_logits, every token's (read them with logits(i)).
  // Throws UserError if the tokens do not fit in the context or an id is out of the vocab.
  void eval(std::span<const int32_t> tokens, bool all_logits = false);

  std::span<const float> logits(int64_t i) const;  // i-th token of the last eval()
  std::span<const float> last_logits() const { return logits(last_count_ - 1); }

  KvCache& kv() { return kv_; }
  const ModelConfig& config() const { return cfg_; }
  int64_t n_ctx() const { return kv_.n_ctx(); }
  void set_tap(TapFn tap) { tap_ = std::move(tap); }
  // Opt-in peer numerics (act_quant.h); throws UserError if the shapes do not fit its blocks, or
  // for probs-f16 / flash-f16 on a q8/q4 cache (they model ggml's f16 cache).
  void set_numerics(const PeerNumerics& numerics);
  const PeerNumerics& numerics() const { return num_; }

 private:
  void eval_batch(const int32_t* tokens, int64_t T, bool all_logits, int64_t logits_row0);
  void layer_forward(int64_t l, int64_t T, int64_t pos0);
  void bitlinear(const LinearWeights& w, Mat<const float> x, QuantizedActivations& xq,
                 bool quantize, Mat<float> y);
  void bitlinear_shared(std::span<const LinearWeights* const> ws, Mat<const float> x,
                        QuantizedActivations& xq, bool quantize, std::span<float* const> ys);
  bool int8_path(const LinearWeights& w) const;  // per-token int8 activations x ternary weights
  // fn(t0, t1) over token ranges on the pool's threads; one token runs inline.
  template <typename Fn>
  void for_tokens(int64_t T, const Fn& fn);
  // Rows [t0, t1) of a BitLinear input x: with xq, its int8 quantization (RMSNorm with gain g
  // first when g is non-empty, fused); without, only the norm, into h (may alias x).
  void input_rows(Mat<float> x, std::span<const float> g, QuantizedActivations* xq, Mat<float> h,
                  int64_t t0, int64_t t1) const;
  void attention(int64_t l, int64_t T, int64_t pos0);
  void attention_head(int64_t l, int64_t kv_head, const float* q, int64_t n_pos, float* scores, float* out) const;
  void tap(std::string_view name, int64_t l, Mat<const float> m) const {
    if (tap_) tap_(name, l, m);
  }

  const Model& model_;
  const ModelConfig& cfg_;
  ThreadPool& pool_;
  ActMode act_;
  int64_t max_batch_;
  KvCache kv_;
  TapFn tap_;
  PeerNumerics num_;

  // Scratch, (max_batch, dim) each.
  AlignedBuffer<float> x_, h_, q_, k_, v_, attn_, o_, gate_, up_;
  AlignedBuffer<float> scores_;  // (n_threads, max(n_ctx, head_dim))
  AlignedBuffer<float> xf_;      // (max_batch, max(D, q_dim, F)): fake-quantized BitLinear input (Q8_K only)
  QuantizedActivations xq_d_, xq_attn_, xq_ff_;
  std::vector<int32_t> pos_;
  std::vector<float> logits_;  // (all-logits rows, V), grown only by all_logits evals
  int64_t last_count_ = 0, logits_stride_rows_ = 0;
};

}  // namespace bitlm
