// model/forward.cpp — one decoder layer in 003 Fig. 12 order (see forward.h and layer_forward).
// Residual stream x: (T, D); every BitLinear input is normed first (pre-norm, or SubLN before
// W_o / W_down).
#include "model/forward.h"

#include <algorithm>

#include "core/error.h"
#include "core/ggml_types.h"
#include "ops/attention.h"
#include "ops/glu_rows.h"
#include "ops/ops.h"
#include "quant/act_rows.h"
#include "quant/ptq.h"
#include "quant/quantize.h"

namespace bitlm {
namespace {

Mat<float> mat(AlignedBuffer<float>& b, int64_t T, int64_t cols) { return {b.data(), T, cols}; }

// Per-token absmax int8 (003 eq. 6-7) of rows [t0, t1) into preallocated rows; padding columns
// stay zero. g non-empty: RMSNorm with gain g first, fused (quant/act_rows.h: the same floats and
// int8 as rms_norm_forward, then quantize). The caller sets xq.T.
void quantize_rows(Mat<const float> x, std::span<const float> g, float eps, QuantizedActivations& xq,
                   int64_t t0, int64_t t1) {
  BITLM_DASSERT(x.cols == xq.cols && t1 <= int64_t(xq.scale.size()));
  const ActRows rows = {x.row_ptr(t0), x.stride, t1 - t0, x.cols, xq.q.data() + t0 * xq.stride, xq.stride,
                        xq.scale.data() + t0, xq.sum.data() + t0};
  const ActRowKernels& k = best_act_row_kernels();
  if (g.empty()) k.quantize(rows);
  else k.rms_norm_quantize(rows, g.data(), eps);
}

// A BitLinear input whole: per-token absmax, or an elastic model's one learned scale (act_scale > 0,
// weights.h) for every token (quant/quantize.h quantize_elastic_int8, what the training forward runs).
void quantize_rows(Mat<const float> x, float act_scale, QuantizedActivations& xq) {
  xq.T = x.rows;
  if (act_scale <= 0) return quantize_rows(x, {}, 0.0f, xq, 0, x.rows);
  for (int64_t t = 0; t < x.rows; ++t)
    xq.scale[size_t(t)] = quantize_elastic_int8({x.row_ptr(t), size_t(x.cols)}, act_scale,
                                                {xq.q.data() + t * xq.stride, size_t(x.cols)}, &xq.sum[size_t(t)]);
}

void add_inplace(Mat<float> x, Mat<const float> y) {  // the residual connection
  for (int64_t t = 0; t < x.rows; ++t)
    for (int64_t i = 0; i < x.cols; ++i) x.row_ptr(t)[i] += y.row_ptr(t)[i];
}

}  // namespace

Forward::Forward(const Model& model, int64_t n_ctx, ThreadPool& pool, ActMode act, int64_t max_batch,
                 KvCacheType kv_type, int64_t n_seq)
    : model_(model), cfg_(model.config), pool_(pool), act_(act), max_batch_(max_batch) {
  BITLM_ASSERT(max_batch > 0 && n_seq > 0);
  kv_.reserve(size_t(n_seq));
  for (int64_t s = 0; s < n_seq; ++s) kv_.emplace_back(cfg_.n_layer, n_ctx, cfg_.kv_dim(), cfg_.head_dim, kv_type);
  const int64_t B = max_batch, D = cfg_.n_embd, F = cfg_.n_ff;
  for (auto* b : {&x_, &h_, &o_}) b->resize(size_t(B * D));
  for (auto* b : {&q_, &attn_}) b->resize(size_t(B * cfg_.q_dim()));
  for (auto* b : {&k_, &v_}) b->resize(size_t(B * cfg_.kv_dim()));
  for (auto* b : {&gate_, &up_}) b->resize(size_t(B * F));
  scores_.resize(size_t(pool.n_threads() * std::max(n_ctx, cfg_.head_dim)));  // head_dim: flash_f16's acc
  xq_d_.resize(B, D);
  xq_attn_.resize(B, cfg_.q_dim());
  xq_ff_.resize(B, F);
  for (auto* v : {&tokens_, &pos_, &seq_}) v->resize(size_t(B));
  logit_rows_.reserve(size_t(B));
  logits_.resize(size_t(cfg_.n_vocab));
  if (cfg_.act_bits > 0) xf_.resize(size_t(B * std::max({D, cfg_.q_dim(), F})));  // fake-quantized inputs
}

void Forward::check_tokens(std::span<const int32_t> tokens, int64_t seq) const {
  const int64_t n = int64_t(tokens.size()), pos0 = kv_[size_t(seq)].n_pos();
  if (pos0 + n > n_ctx())
    throw UserError(fmt::format("{} tokens at position {} do not fit in the context of {}", n, pos0, n_ctx()));
  for (int32_t id : tokens)
    if (id < 0 || id >= cfg_.n_vocab)
      throw UserError(fmt::format("token id {} is outside the vocabulary [0, {})", id, cfg_.n_vocab));
}

void Forward::eval(std::span<const int32_t> tokens, bool all_logits) {
  const int64_t n = int64_t(tokens.size());
  BITLM_ASSERT(n > 0);
  check_tokens(tokens, 0);
  if (all_logits && logits_.size() < size_t(n * cfg_.n_vocab)) logits_.resize(size_t(n * cfg_.n_vocab));
  logits_stride_rows_ = all_logits ? 1 : 0;
  for (int64_t b = 0; b < n; b += max_batch_) {
    const int64_t T = std::min(max_batch_, n - b), pos0 = kv_[0].n_pos();
    for (int64_t t = 0; t < T; ++t) {
      tokens_[size_t(t)] = tokens[size_t(b + t)];
      pos_[size_t(t)] = int32_t(pos0 + t);
      seq_[size_t(t)] = 0;
    }
    logit_rows_.clear();
    if (all_logits) for (int64_t t = 0; t < T; ++t) logit_rows_.push_back(t);
    else if (b + T == n) logit_rows_.push_back(T - 1);
    eval_rows(T, all_logits ? b : 0);
    kv_[0].set_n_pos(pos0 + T);
  }
  last_count_ = n;
}

void Forward::eval_seqs(std::span<const SeqTokens> batch) {
  int64_t T = 0, n_logits = 0;
  for (const SeqTokens& e : batch) {
    BITLM_ASSERT(e.seq >= 0 && e.seq < n_seq() && !e.tokens.empty());
    for (const SeqTokens& other : batch) BITLM_ASSERT(&other == &e || other.seq != e.seq);
    check_tokens(e.tokens, e.seq);
    T += int64_t(e.tokens.size());
    n_logits += e.want_logits;
  }
  BITLM_ASSERT(T > 0 && T <= max_batch_);
  if (logits_.size() < size_t(n_logits * cfg_.n_vocab)) logits_.resize(size_t(n_logits * cfg_.n_vocab));
  logit_rows_.clear();
  seq_logits_row_.clear();
  int64_t t = 0;
  for (const SeqTokens& e : batch) {
    const int64_t pos0 = kv_[size_t(e.seq)].n_pos();
    for (size_t i = 0; i < e.tokens.size(); ++i, ++t) {
      tokens_[size_t(t)] = e.tokens[i];
      pos_[size_t(t)] = int32_t(pos0 + int64_t(i));
      seq_[size_t(t)] = int32_t(e.seq);
    }
    seq_logits_row_.push_back(e.want_logits ? int64_t(logit_rows_.size()) : -1);
    if (e.want_logits) logit_rows_.push_back(t - 1);
  }
  eval_rows(T, 0);
  for (const SeqTokens& e : batch) kv_[size_t(e.seq)].set_n_pos(kv_[size_t(e.seq)].n_pos() + int64_t(e.tokens.size()));
  last_count_ = 0;  // logits(i) belongs to eval()
}

std::span<const float> Forward::seq_logits(int64_t i) const {
  BITLM_ASSERT(i >= 0 && i < int64_t(seq_logits_row_.size()) && seq_logits_row_[size_t(i)] >= 0);
  return {logits_.data() + size_t(seq_logits_row_[size_t(i)] * cfg_.n_vocab), size_t(cfg_.n_vocab)};
}

void Forward::set_numerics(const PeerNumerics& numerics) {
  if ((numerics.probs_f16 || numerics.flash_f16) && kv_[0].type() != KvCacheType::kF16)
    throw UserError(fmt::format("the probs-f16 / flash-f16 numerics model an f16 KV cache, not {}",
                                kv_type_name(kv_[0].type())));
  if (numerics.act_quant == ActQuant::kQ8K) {
    for (int64_t n : {cfg_.n_embd, cfg_.q_dim(), cfg_.n_ff})
      if (n % 256)
        throw UserError(fmt::format("Q8_K activations need BitLinear inputs in 256-blocks; this model has {}", n));
    xf_.resize(size_t(max_batch_ * std::max({cfg_.n_embd, cfg_.q_dim(), cfg_.n_ff})));  // only Q8_K copies
  }
  num_ = numerics;
}

std::span<const float> Forward::logits(int64_t i) const {
  BITLM_ASSERT(i >= 0 && i < last_count_ && (logits_stride_rows_ || i == last_count_ - 1));
  return {logits_.data() + size_t(i * logits_stride_rows_ * cfg_.n_vocab), size_t(cfg_.n_vocab)};
}

void Forward::eval_rows(int64_t T, int64_t logits_row0) {
  const int64_t D = cfg_.n_embd;
  const ModelWeights& w = model_.weights;
  Mat<float> x = mat(x_, T, D);
  for (int64_t t = 0; t < T; ++t) w.token_embd.row_f32(tokens_[size_t(t)], x.row_ptr(t));
  tap("embd", -1, x);
  for (int64_t l = 0; l < cfg_.n_layer; ++l) layer_forward(l, T);
  if (logit_rows_.empty()) return;

  // Final norm (row by row: the same floats whichever rows are gathered), then the head.
  const int64_t rows = int64_t(logit_rows_.size());
  Mat<float> h = mat(h_, rows, D);
  for (int64_t j = 0; j < rows; ++j)
    rms_norm_forward(x.rows_range(logit_rows_[size_t(j)], 1), w.output_norm, cfg_.rms_eps, h.rows_range(j, 1));
  if (num_.head_q8_0 && w.output.type() == kGgmlQ8_0) fake_quant_q8_0(h);  // ggml's vec_dot_type
  tap("result_norm", -1, h);
  dense_matmul(w.output, h.data, rows, logits_.data() + size_t(logits_row0 * cfg_.n_vocab), pool_);
}

void Forward::bitlinear(const LinearWeights& lw, Mat<const float> x, QuantizedActivations& xq,
                        bool quantize, Mat<float> y) {
  BITLM_DASSERT(x.stride == x.cols && y.stride == y.cols && lw.cols() == x.cols && lw.rows() == y.cols);
  // fp models: a plain linear layer, no weight or activation quantizer (the FP16 LLaMA baseline);
  // a post-training-quantized one (act_bits) rounds its inputs per token first (quant/ptq.h).
  if (lw.is_fp() && cfg_.act_bits > 0) {
    std::copy(x.data, x.data + x.rows * x.cols, xf_.data());
    fake_quant_absmax_rows({xf_.data(), size_t(x.rows * x.cols)}, x.rows, x.cols, cfg_.act_bits);
    return dense_matmul(lw.dense, xf_.data(), x.rows, y.data, pool_);
  }
  if (lw.is_fp()) return dense_matmul(lw.dense, x.data, x.rows, y.data, pool_);
  const TernaryMatrix& w = lw.ternary;
  if (act_ == ActMode::kNone) return ternary_matmul_f32(w, x.data, x.rows, y.data, pool_);
  if (num_.act_quant != ActQuant::kPerToken) {  // the peers' activations (llama.cpp's Q8_K), in f32
    const float* xin = quantize ? peer_bitlinear_input(num_, x, xf_.data()).data : xf_.data();
    return ternary_matmul_f32(w, xin, x.rows, y.data, pool_);
  }
  if (quantize) quantize_rows(x, lw.act_scale, xq);
  ternary_matmul(w, xq, y.data, pool_);
}

// Matrices sharing the input x (W_q/W_k/W_v, W_gate/W_up): the default int8 path quantizes x once
// (unless the caller did: quantize false) and runs them in one parallel region (quant's
// ternary_matmul_multi: fewer pool barriers per layer); the other numerics and fp models go one
// matrix at a time. ys[i]: (T, ws[i]->rows()).
void Forward::bitlinear_shared(std::span<const LinearWeights* const> ws, Mat<const float> x,
                               QuantizedActivations& xq, bool quantize, std::span<float* const> ys) {
  BITLM_DASSERT(ws.size() <= 3);
  if (!int8_path(*ws[0])) {
    for (size_t i = 0; i < ws.size(); ++i) bitlinear(*ws[i], x, xq, i == 0, Mat<float>(ys[i], x.rows, ws[i]->rows()));
    return;
  }
  const TernaryMatrix* ternary[3];
  for (size_t i = 0; i < ws.size(); ++i) ternary[i] = &ws[i]->ternary;
  if (quantize) quantize_rows(x, ws[0]->act_scale, xq);  // one scale for the shared input
  ternary_matmul_multi({ternary, ws.size()}, xq, ys, pool_);
}

bool Forward::int8_path(const LinearWeights& w) const {
  return !w.is_fp() && act_ == ActMode::kInt8 && num_.act_quant == ActQuant::kPerToken;
}

template <typename Fn>
void Forward::for_tokens(int64_t T, const Fn& fn) {
  if (T == 1) return fn(int64_t(0), int64_t(1));  // decode: no pool hand-off for one row of work
  pool_.parallel_for(0, T, 1, fn);
}

void Forward::input_rows(Mat<float> x, std::span<const float> g, QuantizedActivations* xq, Mat<float> h,
                         int64_t t0, int64_t t1) const {
  if (xq) return quantize_rows(x, g, cfg_.rms_eps, *xq, t0, t1);
  if (!g.empty()) rms_norm_forward(x.rows_range(t0, t1 - t0), g, cfg_.rms_eps, h.rows_range(t0, t1 - t0));
}

// 003 Fig. 12, one BitNet b1.58 block, step by step (x: the residual stream, (T, D)):
//   attention  h = RMSNorm(x); q, k, v = BitLinear_q,k,v(h); RoPE(q, k); a = Attention(q, K, V)
//              x += BitLinear_o(SubLN(a))
//   FFN        h = RMSNorm(x); g = act(BitLinear_gate(h)) * BitLinear_up(h)
//              x += BitLinear_down(SubLN(g))
// The choices around the steps sit behind their entry points: the BitLinear input's numerics in
// bitlinear() (int8 per token, the peers' Q8_K, f32, fp models), the KV storage and the peers'
// attention heads in ops/attention_head. Row-wise steps (norms, quantization, RoPE, cache stores,
// activation, residual adds) run on the pool's threads over tokens. Without a tap, the default
// int8 path fuses each norm with the quantization of the BitLinear it feeds (the normed floats are
// never written: xq non-null below); a tap needs them, and the other numerics multiply floats.
void Forward::layer_forward(int64_t l, int64_t T) {
  const LayerWeights& L = model_.weights.layers[size_t(l)];
  const int64_t D = cfg_.n_embd, F = cfg_.n_ff;
  Mat<float> x = mat(x_, T, D), h = mat(h_, T, D), o = mat(o_, T, D);
  Mat<float> q = mat(q_, T, cfg_.q_dim()), k = mat(k_, T, cfg_.kv_dim()), v = mat(v_, T, cfg_.kv_dim());
  Mat<float> a = mat(attn_, T, cfg_.q_dim()), gate = mat(gate_, T, F), up = mat(up_, T, F);
  const bool fused = int8_path(L.wq) && !tap_ && L.wq.act_scale == 0;  // elastic: norm, then its fixed scale
  QuantizedActivations* xq_d = fused ? &xq_d_ : nullptr;
  QuantizedActivations* xq_attn = fused ? &xq_attn_ : nullptr;
  QuantizedActivations* xq_ff = fused ? &xq_ff_ : nullptr;
  for (auto* xq : {xq_d, xq_attn, xq_ff})
    if (xq) xq->T = T;
  const std::span<const float> no_norm;
  auto sub_norm = [&](const std::vector<float>& g) { return cfg_.sub_norms ? std::span<const float>(g) : no_norm; };
  const LinearWeights* qkv[] = {&L.wq, &L.wk, &L.wv};
  float* const qkv_out[] = {q.data, k.data, v.data};
  const LinearWeights* gate_up[] = {&L.w_gate, &L.w_up};
  float* const gate_up_out[] = {gate.data, up.data};

  // Attention block.
  for_tokens(T, [&](int64_t t0, int64_t t1) { input_rows(x, L.attn_norm, xq_d, h, t0, t1); });  // RMSNorm
  tap("attn_norm", l, h);
  bitlinear_shared(qkv, h, xq_d_, !fused, qkv_out);  // BitLinear q, k, v: h quantized once
  tap("Vcur", l, v);
  for_tokens(T, [&](int64_t t0, int64_t t1) { rope_and_store(l, q, k, v, t0, t1); });  // RoPE, KV cache
  tap("Qcur", l, q);
  tap("Kcur", l, k);
  attention(l, T);  // softmax(q K^T / sqrt(Dh)) V
  tap("kqv_out", l, a);
  for_tokens(T, [&](int64_t t0, int64_t t1) { input_rows(a, sub_norm(L.attn_sub_norm), xq_attn, a, t0, t1); });
  tap("attn_sub_norm", l, a);                 // SubLN
  bitlinear(L.wo, a, xq_attn_, !xq_attn, o);  // BitLinear o
  tap("attn_out", l, o);
  for_tokens(T, [&](int64_t t0, int64_t t1) {
    add_inplace(x.rows_range(t0, t1 - t0), o.rows_range(t0, t1 - t0));  // residual
    input_rows(x, L.ffn_norm, xq_d, h, t0, t1);                          // RMSNorm (the FFN's)
  });
  tap("ffn_inp", l, x);
  tap("ffn_norm", l, h);

  // FFN block.
  bitlinear_shared(gate_up, h, xq_d_, !fused, gate_up_out);  // BitLinear gate, up
  for_tokens(T, [&](int64_t t0, int64_t t1) {
    glu_rows(gate.rows_range(t0, t1 - t0), up.rows_range(t0, t1 - t0));  // act(gate) * up, into gate
    if (xq_ff) input_rows(gate, sub_norm(L.ffn_sub_norm), xq_ff, gate, t0, t1);  // SubLN, fused
  });
  tap("ffn_act", l, gate);
  if (!xq_ff) for_tokens(T, [&](int64_t t0, int64_t t1) { input_rows(gate, sub_norm(L.ffn_sub_norm), nullptr, gate, t0, t1); });
  tap("ffn_sub_norm", l, gate);                  // SubLN
  bitlinear(L.w_down, gate, xq_ff_, !xq_ff, o);  // BitLinear down
  tap("ffn_out", l, o);
  for_tokens(T, [&](int64_t t0, int64_t t1) { add_inplace(x.rows_range(t0, t1 - t0), o.rows_range(t0, t1 - t0)); });
  tap("l_out", l, x);  // residual
}

// RoPE on rows [t0, t1) of q and k, then k, v into each row's cache at its position. With the
// peers' q-f16, Q is rounded to f16 here (ggml's mul_mat(K f16, Q) multiplies an f16 Q).
void Forward::rope_and_store(int64_t l, Mat<float> q, Mat<float> k, Mat<const float> v, int64_t t0, int64_t t1) {
  const std::span<const int32_t> pos(pos_.data() + t0, size_t(t1 - t0));
  Mat<float> qt = q.rows_range(t0, t1 - t0), kt = k.rows_range(t0, t1 - t0);
  rope_forward(qt, int(cfg_.n_head), int(cfg_.head_dim), pos, cfg_.rope_theta, cfg_.rope_neox);
  rope_forward(kt, int(cfg_.n_head_kv), int(cfg_.head_dim), pos, cfg_.rope_theta, cfg_.rope_neox);
  if (num_.q_f16) round_f16(qt);
  for (int64_t t = t0; t < t1; ++t) kv_[size_t(seq_[size_t(t)])].store(l, pos_[size_t(t)], k.row_ptr(t), v.row_ptr(t));
}

// The FFN's gate, act(gate) * up in place: squared ReLU (BitNet b1.58 2B-4T) or SwiGLU.
void Forward::glu_rows(Mat<float> gate, Mat<const float> up) const {
  if (cfg_.activation == FfnActivation::kRelu2) relu2_glu_rows(gate, up, gate);
  else swiglu_forward(gate, up, gate);
}

// Causal GQA over each row's own cache: row t (position pos_[t] of sequence seq_[t]) sees that
// sequence's positions [0, pos_[t]]. Threads take (row, head) pairs; each has its own score row.
void Forward::attention(int64_t l, int64_t T) {
  const int64_t H = cfg_.n_head, Dh = cfg_.head_dim, group = cfg_.n_head / cfg_.n_head_kv, n_ctx = this->n_ctx();
  pool_.run([&](int thread, int n_threads) {
    float* scores = scores_.data() + thread * std::max(n_ctx, Dh);
    for (int64_t job = thread; job < T * H; job += n_threads) {
      const int64_t t = job / H, h = job % H;
      attention_head(kv_[size_t(seq_[size_t(t)])].head(l, h / group), q_.data() + t * cfg_.q_dim() + h * Dh,
                     pos_[size_t(t)] + 1, int(Dh), num_, scores, attn_.data() + t * cfg_.q_dim() + h * Dh);
    }
  });
}

}  // namespace bitlm
