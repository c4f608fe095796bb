// model/forward.h — the inference forward (003 Fig. 12) over a KV cache: prefill (T tokens in
// batches of up to max_batch) and decode (T = 1) are the same call.
//
// Several sequences (continuous batching, serve/): with n_seq > 1 each sequence has its own KV
// cache, kv(seq), and eval_seqs() runs one step over rows of several sequences at once: every
// row carries its own position and sequence, so each BitLinear is one int8 x ternary GEMM over
// all of them (the weights are read once per step) while norms, RoPE, the cache store and
// attention stay per row. A row's logits do not depend on the rows beside it: the matmuls' int32
// sums are exact whatever the kernel (GEMV or GEMM), and every float step runs row by row.
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
#include "model/kv_cache.h"
#include "model/model.h"
#include "ops/peer_numerics.h"
#include "quant/matrix.h"

namespace bitlm {

enum class ActMode { kInt8, kNone };

// One sequence's share of a batched step (eval_seqs): `tokens` are appended to kv(seq) at its
// n_pos(); with want_logits, the last token's logits are computed.
struct SeqTokens {
  int64_t seq = 0;
  std::span<const int32_t> tokens;
  bool want_logits = true;
};

// Named intermediate (e.g. "attn_norm", layer l, a (T, D) view), for tests and debugging.
using TapFn = std::function<void(std::string_view name, int64_t layer, Mat<const float> value)>;

// Prompt tokens per forward step on the CLI's paths (generate, chat, ppl, eval): every ternary
// row pair is decoded once per step, so larger steps amortise it (bench -b 64 vs 32: +2-3%).
inline constexpr int64_t kPromptStep = 64;

class Forward {
 public:
  // kv_type: the cache's storage (kv_cache.h); q8/q4 attend over the quantized rows directly.
  // n_ctx: positions per sequence; n_seq: sequences, each with its own cache (allocated, not
  // touched: a cache's pages become resident as its sequence grows).
  Forward(const Model& model, int64_t n_ctx, ThreadPool& pool, ActMode act = ActMode::kInt8,
          int64_t max_batch = 32, KvCacheType kv_type = KvCacheType::kF16, int64_t n_seq = 1);

  // Runs `tokens` at positions kv().n_pos() ... and appends them to the cache. Logits of the
  // last token are always computed; with all_logits, every token's (read them with logits(i)).
  // Throws UserError if the tokens do not fit in the context or an id is out of the vocab.
  void eval(std::span<const int32_t> tokens, bool all_logits = false);

  std::span<const float> logits(int64_t i) const;  // i-th token of the last eval()
  std::span<const float> last_logits() const { return logits(last_count_ - 1); }

  // One step over several sequences (at most one entry per seq, max_batch tokens in all), in one
  // forward: the rows of every entry go through each matmul together. Throws UserError like eval().
  void eval_seqs(std::span<const SeqTokens> batch);
  // The last token's logits of entry i of the last eval_seqs() (which asked for them).
  std::span<const float> seq_logits(int64_t i) const;

  KvCache& kv(int64_t seq = 0) { return kv_[size_t(seq)]; }
  int64_t n_seq() const { return int64_t(kv_.size()); }
  int64_t max_batch() const { return max_batch_; }
  const ModelConfig& config() const { return cfg_; }
  int64_t n_ctx() const { return kv_[0].n_ctx(); }
  void set_tap(TapFn tap) { tap_ = std::move(tap); }
  // Opt-in peer numerics (ops/peer_numerics.h); throws UserError if the shapes do not fit its blocks, or
  // for probs-f16 / flash-f16 on a q8/q4 cache (they model ggml's f16 cache).
  void set_numerics(const PeerNumerics& numerics);
  const PeerNumerics& numerics() const { return num_; }

 private:
  // Rows [0, T) with tokens tokens_, positions pos_ and sequences seq_ already set; logits of
  // the rows logit_rows_ (in order) into logits_ from row `logits_row0`.
  void eval_rows(int64_t T, int64_t logits_row0);
  void check_tokens(std::span<const int32_t> tokens, int64_t seq) const;
  void layer_forward(int64_t l, int64_t T);
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
  void rope_and_store(int64_t l, Mat<float> q, Mat<float> k, Mat<const float> v, int64_t t0, int64_t t1);
  void attention(int64_t l, int64_t T);
  void glu_rows(Mat<float> gate, Mat<const float> up) const;
  void tap(std::string_view name, int64_t l, Mat<const float> m) const {
    if (tap_) tap_(name, l, m);
  }

  const Model& model_;
  const ModelConfig& cfg_;
  ThreadPool& pool_;
  ActMode act_;
  int64_t max_batch_;
  std::vector<KvCache> kv_;  // one per sequence
  TapFn tap_;
  PeerNumerics num_;

  // Scratch, (max_batch, dim) each.
  AlignedBuffer<float> x_, h_, q_, k_, v_, attn_, o_, gate_, up_;
  AlignedBuffer<float> scores_;  // (n_threads, max(n_ctx, head_dim))
  AlignedBuffer<float> xf_;      // (max_batch, max(D, q_dim, F)): fake-quantized BitLinear input (Q8_K only)
  QuantizedActivations xq_d_, xq_attn_, xq_ff_;
  std::vector<int32_t> tokens_, pos_, seq_;  // per row of the current step: (max_batch)
  std::vector<int64_t> logit_rows_;          // rows whose logits the current step computes
  std::vector<float> logits_;  // (all-logits rows or eval_seqs entries, V), grown as needed
  std::vector<int64_t> seq_logits_row_;      // per eval_seqs entry: its row in logits_, or -1
  int64_t last_count_ = 0, logits_stride_rows_ = 0;
};

}  // namespace bitlm
