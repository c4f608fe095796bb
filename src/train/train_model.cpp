// train/train_model.cpp — see train_model.h. Forward saves, per layer, what the backward reads:
// the inputs of every RMSNorm (and its rstd), the quantized BitLinear inputs x_q (dW = dy^T x_q),
// q/k/v after RoPE, the attention output and the FFN gate/up/act. Attention probabilities are
// recomputed in the backward. Quantized weights w_q (and, for b1.58, their packed ternary form)
// are computed by the first forward after the parameters change, i.e. once per optimizer step.
#include "train/train_model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/fp16.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "quant/quantize.h"

namespace bitlm {

namespace {

Mat<float> mat(std::vector<float>& v, int64_t rows, int64_t cols, int64_t block = 0) {
  BITLM_ASSERT(size_t((block + 1) * rows * cols) <= v.size());
  return {v.data() + block * rows * cols, rows, cols};
}

void zero(Mat<float> m) {
  for (int64_t r = 0; r < m.rows; ++r) std::fill(m.row_ptr(r), m.row_ptr(r) + m.cols, 0.0f);
}

void add_inplace(Mat<float> x, Mat<const float> y) {
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t i = 0; i < x.cols; ++i) x(r, i) += y(r, i);
}

}  // namespace

WeightMode parse_weight_mode(const std::string& s) {
  if (s == "b1.58") return WeightMode::kTernary;
  if (s == "b1") return WeightMode::kBinary;
  if (s == "fp") return WeightMode::kFp;
  throw UserError(fmt::format("weight mode '{}' is not one of b1.58, b1, fp", s));
}

const char* weight_mode_name(WeightMode m) {
  return m == WeightMode::kTernary ? "b1.58" : m == WeightMode::kBinary ? "b1" : "fp";
}

void TrainModelConfig::validate() const {
  if (!find_arch(arch)) {
    std::string names;
    for (const ArchTraits& a : supported_archs()) names += (names.empty() ? "" : ", ") + std::string(a.name);
    throw UserError(fmt::format("model.arch '{}' is not a known architecture ({})", arch, names));
  }
  BITLM_CHECK(n_vocab >= 2 && n_vocab <= (int64_t(1) << 31) - 1, "model.n_vocab = {} is out of range", n_vocab);
  BITLM_CHECK(n_embd > 0 && n_ff > 0 && n_layer > 0 && seq_len > 0,
              "model sizes must be positive (n_embd {}, n_ff {}, n_layer {}, seq_len {})", n_embd,
              n_ff, n_layer, seq_len);
  BITLM_CHECK(n_head > 0 && n_embd % n_head == 0, "model.n_embd = {} is not a multiple of n_head = {}",
              n_embd, n_head);
  BITLM_CHECK(head_dim() % 2 == 0, "head dim n_embd/n_head = {} must be even (RoPE pairs)", head_dim());
  BITLM_CHECK(n_head_kv > 0 && n_head % n_head_kv == 0,
              "model.n_head = {} is not a multiple of n_head_kv = {}", n_head, n_head_kv);
  BITLM_CHECK(rms_eps > 0 && rope_theta > 0, "model.rms_eps and rope_theta must be positive");
  // every BitLinear's rows and columns are among n_embd, q_dim, kv_dim and n_ff
  BITLM_CHECK(quant_groups >= 1 && n_embd % quant_groups == 0 && q_dim() % quant_groups == 0 &&
                  kv_dim() % quant_groups == 0 && n_ff % quant_groups == 0,
              "model.quant_groups = {} must divide n_embd ({}), the q and kv widths ({}, {}) and n_ff ({})",
              quant_groups, n_embd, q_dim(), kv_dim(), n_ff);
  // the bf16 backward scales operands back to their integer codes by one max per tensor / token
  BITLM_CHECK(quant_groups == 1 || matmul_precision == MatmulPrecision::kFp32,
              "matmul_precision bf16 needs model.quant_groups 1 (its exact codes assume one weight scale per "
              "tensor and one activation scale per token)");
  BITLM_CHECK(!elastic_act || (weight_mode != WeightMode::kFp && quant_groups == 1 &&
                               matmul_precision == MatmulPrecision::kFp32),
              "model.act_quant \"elastic\" needs weight_mode b1.58 or b1 (fp has no activation quantizer), "
              "quant_groups 1 and matmul_precision fp32 (whose codes assume per-token absmax scales)");
}

ModelConfig TrainModelConfig::model_config() const {
  ModelConfig mc;
  mc.set_arch(arch);
  mc.n_embd = n_embd; mc.n_ff = n_ff; mc.n_layer = n_layer; mc.n_head = n_head;
  mc.n_head_kv = n_head_kv; mc.head_dim = head_dim(); mc.n_ctx_train = seq_len;
  mc.n_vocab = n_vocab; mc.rms_eps = rms_eps; mc.rope_theta = rope_theta; mc.activation = activation;
  mc.fp_linear = weight_mode == WeightMode::kFp;
  mc.elastic_act = elastic_act;
  return mc;
}

// The parameters in the arch's tensor-table order within a block (embedding, blocks, output norm,
// then an untied head): the arenas, the init stream and the checkpoints follow it.
TrainModel::TrainModel(const TrainModelConfig& config) : cfg_(config) {
  cfg_.validate();
  model_cfg_ = cfg_.model_config();
  const TensorTable& names = model_cfg_.tensors();
  size_t offset = 0;
  auto add = [&](TensorRole role, int64_t block = -1) {
    const TensorShape s = tensor_shape(role, model_cfg_);
    tensors_.push_back({names.gguf_name(role, block), s.rows, s.cols, offset, tensor_kind(role)});
    offset += size_t(s.rows * s.cols);
    return tensors_.size() - 1;
  };
  tok_embd_ = add(TensorRole::kTokenEmbd);
  for (int64_t l = 0; l < cfg_.n_layer; ++l) {
    Layer L;
    L.index.fill(kNoTensor);
    for (const TensorRow& row : names.blocks) L.index[size_t(row.role)] = add(row.role, l);
    layers_.push_back(L);
  }
  output_norm_ = add(TensorRole::kOutputNorm);
  output_ = cfg_.tied_embedding ? tok_embd_ : add(TensorRole::kOutput);
  // Elastic: the activation scales after every other tensor (the init stream of the rest unchanged).
  for (int64_t l = 0; cfg_.elastic_act && l < cfg_.n_layer; ++l)
    for (const TensorRow& row : act_scale_rows()) {
      tensors_.push_back({act_scale_name(row.role, l), 1, 1, offset, TensorKind::kActScale});
      offset += 1;
      layers_[size_t(l)].index[size_t(row.role)] = tensors_.size() - 1;
    }
  params_.assign(offset, 0.0f);
  grads_.assign(offset, 0.0f);
  wq_.assign(offset, 0.0f);
  packed_.resize(tensors_.size());
  rope_ = rope_table(cfg_.seq_len, int(cfg_.head_dim()), cfg_.rope_theta);
  acts_.resize(size_t(cfg_.n_layer));
}

void TrainModel::init(uint64_t seed, float init_std) {
  weights_fresh_ = false;
  Rng rng(seed);
  for (const ParamTensor& t : tensors_) {
    std::span<float> p = param(t);
    if (t.kind == TensorKind::kActScale) std::ranges::fill(p, 0.0f);  // calibrated by the first forward
    else for (float& v : p) v = t.kind == TensorKind::kNorm ? 1.0f : float(rng.normal() * init_std);
  }
}

const ParamTensor& TrainModel::tensor(const std::string& name) const {
  for (const ParamTensor& t : tensors_)
    if (t.name == name) return t;
  BITLM_ASSERT(!"no such tensor");
}

// The gradients forward_backward adds into: norms and an untied embedding. The BitLinear weights'
// and the head's are overwritten by their dW matmul (each weight is used once per forward; a
// tied head is written before the embedding rows are added).
void TrainModel::zero_added_grads() {
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (tensors_[i].kind != TensorKind::kLinear && i != output_) std::ranges::fill(grad(tensors_[i]), 0.0f);
}

void TrainModel::swap_grads(std::vector<float>& other) {
  other.resize(grads_.size());
  std::swap(grads_, other);
}

std::vector<float> TrainModel::quantized_weight(const ParamTensor& t) const {
  std::vector<float> out(t.size());
  Mat<const float> w(params_.data() + t.offset, t.rows, t.cols);
  if (t.kind == TensorKind::kLinear)
    bitlinear_quantize_weight_groups(cfg_.weight_mode, w, Mat<float>(out.data(), t.rows, t.cols), cfg_.quant_groups);
  else
    std::copy(w.data, w.data + t.size(), out.begin());
  return out;
}

void TrainModel::prepare_weights(ThreadPool& pool) {
  if (weights_fresh_) return;
  const ParamTensor& head = tensors_[output_];
  head_t_.resize(head.size());
  pool.parallel_for(0, head.cols, 8, [&](int64_t d0, int64_t d1) {
    for (int64_t d = d0; d < d1; ++d)
      for (int64_t v = 0; v < head.rows; ++v)
        head_t_[size_t(d * head.rows + v)] = params_[head.offset + size_t(v * head.cols + d)];
  });
  weights_fresh_ = true;
  if (cfg_.weight_mode == WeightMode::kFp) return;
  std::vector<size_t> linear;
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (tensors_[i].kind == TensorKind::kLinear) linear.push_back(i);
  pool.parallel_for(0, int64_t(linear.size()), 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const size_t idx = linear[size_t(i)];
      const ParamTensor& t = tensors_[idx];
      Mat<const float> w(params_.data() + t.offset, t.rows, t.cols);
      Mat<float> w_q(wq_.data() + t.offset, t.rows, t.cols);
      if (packed_path()) packed_[idx] = bitlinear_pack_ternary(w, w_q);
      else bitlinear_quantize_weight_groups(cfg_.weight_mode, w, w_q, cfg_.quant_groups);
    }
  });
}

Mat<const float> TrainModel::forward_weight(size_t i) const {
  const ParamTensor& t = tensors_[i];
  const std::vector<float>& w = cfg_.weight_mode == WeightMode::kFp ? params_ : wq_;
  return {w.data() + t.offset, t.rows, t.cols};
}

void TrainModel::bitlinear_layers(Mat<const float> x, Mat<float> x_q, QuantizedActivations& xi,
                                  std::initializer_list<std::pair<size_t, Mat<float>>> outs,
                                  ThreadPool& pool, size_t act_scale, std::vector<float>* x_keep) {
  if (act_scale != kNoTensor) {  // elastic (003 Table 9): one learned alpha for every token
    float& alpha = params_[tensors_[act_scale].offset];
    if (alpha == 0.0f) {  // not yet calibrated: alpha = max|x| / Qp over this batch
      float gamma = 0;
      for (int64_t r = 0; r < x.rows; ++r)
        for (int64_t i = 0; i < x.cols; ++i) gamma = std::max(gamma, std::fabs(x(r, i)));
      alpha = std::max(gamma, kQuantEps) / float(kActElasticQp);
    }
    BITLM_ASSERT(x_keep && x.stride == x.cols);
    x_keep->assign(x.data, x.data + x.rows * x.cols);
    elastic_quantize_input(x, alpha, x_q, packed_path() ? &xi : nullptr, pool);
  } else if (packed_path()) {
    bitlinear_quantize_input_int8(x, x_q, xi, pool);
  } else {
    bitlinear_quantize_input_groups(cfg_.weight_mode, x, x_q, cfg_.quant_groups, pool);
  }
  if (!packed_path()) {  // dequantized operands, fp32 matmul: the same y = x_q w_q^T (Fig. 11)
    for (const auto& [i, y] : outs) bitlinear_forward(x_q, forward_weight(i), y, pool);
    return;
  }
  std::vector<const TernaryMatrix*> ws;
  std::vector<float*> ys;
  for (const auto& [i, y] : outs) {
    BITLM_ASSERT(y.stride == y.cols);  // ternary_matmul writes dense rows
    ws.push_back(&packed_[i]);
    ys.push_back(y.data);
  }
  ternary_matmul_multi(ws, xi, ys, pool);
}

void TrainModel::resize_activations(int64_t rows) {
  if (rows == rows_) return;
  rows_ = rows;
  const size_t R = size_t(rows), D = size_t(cfg_.n_embd), F = size_t(cfg_.n_ff);
  const size_t Q = size_t(cfg_.q_dim()), KV = size_t(cfg_.kv_dim()), V = size_t(cfg_.n_vocab);
  for (LayerActs& a : acts_) {
    for (auto* v : {&a.x_in, &a.h1q, &a.x_mid, &a.h3q}) v->assign(R * D, 0.0f);
    for (auto* v : {&a.q, &a.att, &a.a2q}) v->assign(R * Q, 0.0f);
    for (auto* v : {&a.k, &a.v}) v->assign(R * KV, 0.0f);
    for (auto* v : {&a.gate, &a.up, &a.act, &a.a4q}) v->assign(R * F, 0.0f);
    for (auto* v : {&a.rstd1, &a.rstd2, &a.rstd3, &a.rstd4}) v->assign(R, 0.0f);
  }
  x_final_.assign(R * D, 0.0f);
  xf_.assign(R * D, 0.0f);
  rstd_final_.assign(R, 0.0f);
  logits_.assign(R * V, 0.0f);
  tmp_.assign(R * std::max({D, Q, F}), 0.0f);
  dres_.assign(R * D, 0.0f);
  d_d_.assign(R * D, 0.0f);
  d_f_.assign(4 * R * F, 0.0f);
  d_a_.assign(3 * R * Q, 0.0f);
  d_qkv_.assign(2 * R * KV, 0.0f);
  pos_.resize(R);
  for (size_t r = 0; r < R; ++r) pos_[r] = int32_t(r % size_t(cfg_.seq_len));
}

void TrainModel::forward_layers(std::span<const int32_t> inputs, ThreadPool& pool) {
  BITLM_ASSERT(!inputs.empty() && int64_t(inputs.size()) % cfg_.seq_len == 0);
  resize_activations(int64_t(inputs.size()));
  tokens_.assign(inputs.begin(), inputs.end());
  prepare_weights(pool);
  const int64_t D = cfg_.n_embd;
  const float* E = params_.data() + tensors_[tok_embd_].offset;
  std::vector<float>& x0 = acts_[0].x_in;
  for (int64_t r = 0; r < rows_; ++r) {
    const int32_t tok = inputs[size_t(r)];
    BITLM_CHECK(tok >= 0 && tok < cfg_.n_vocab, "token id {} at position {} is outside the vocab ({})",
                tok, r, cfg_.n_vocab);
    std::copy(E + int64_t(tok) * D, E + int64_t(tok + 1) * D, x0.data() + r * D);
  }
  for (int64_t l = 0; l < cfg_.n_layer; ++l) layer_forward(l, pool);
}

void TrainModel::layer_forward(int64_t l, ThreadPool& pool) {
  using enum TensorRole;
  const Layer& L = layers_[size_t(l)];
  LayerActs& a = acts_[size_t(l)];
  const int64_t R = rows_, D = cfg_.n_embd, F = cfg_.n_ff, Q = cfg_.q_dim(), KV = cfg_.kv_dim();
  const float eps = cfg_.rms_eps;
  const bool neox = model_cfg_.rope_neox;
  auto P = [&](size_t i) { return std::span<const float>(params_.data() + tensors_[i].offset, tensors_[i].size()); };
  // SubLN (003 sec. 2) into tmp_, or x itself in an arch without sub-norms.
  auto sub_norm = [&](TensorRole role, Mat<float> x, std::vector<float>& rstd) -> Mat<const float> {
    if (L[role] == kNoTensor) return x;
    rms_norm_forward(x, P(L[role]), eps, mat(tmp_, R, x.cols), rstd);
    return mat(tmp_, R, x.cols);
  };
  Mat<float> x_in = mat(a.x_in, R, D), x_mid = mat(a.x_mid, R, D);

  rms_norm_forward(x_in, P(L[kAttnNorm]), eps, mat(tmp_, R, D), a.rstd1);
  bitlinear_layers(mat(tmp_, R, D), mat(a.h1q, R, D), xi_embd_,
                   {{L[kAttnQ], mat(a.q, R, Q)}, {L[kAttnK], mat(a.k, R, KV)}, {L[kAttnV], mat(a.v, R, KV)}}, pool,
                   L[kAttnQkvActScale], &a.h1);
  rope_forward_table(mat(a.q, R, Q), int(cfg_.n_head), rope_, pos_, neox);
  rope_forward_table(mat(a.k, R, KV), int(cfg_.n_head_kv), rope_, pos_, neox);
  if (kv_f16_)
    for (auto* kv : {&a.k, &a.v})
      for (float& x : *kv) x = fp16_to_f32(f32_to_fp16(x));
  attention_forward_mt(mat(a.q, R, Q), mat(a.k, R, KV), mat(a.v, R, KV), int(cfg_.n_head),
                       int(cfg_.n_head_kv), int(cfg_.head_dim()), cfg_.seq_len, mat(a.att, R, Q), pool);
  bitlinear_layers(sub_norm(kAttnSubNorm, mat(a.att, R, Q), a.rstd2), mat(a.a2q, R, Q), xi_attn_,
                   {{L[kAttnOutput], x_mid}}, pool, L[kAttnOutputActScale], &a.a2);
  add_inplace(x_mid, x_in);

  rms_norm_forward(x_mid, P(L[kFfnNorm]), eps, mat(tmp_, R, D), a.rstd3);
  bitlinear_layers(mat(tmp_, R, D), mat(a.h3q, R, D), xi_embd_,
                   {{L[kFfnGate], mat(a.gate, R, F)}, {L[kFfnUp], mat(a.up, R, F)}}, pool,
                   L[kFfnGateUpActScale], &a.h3);
  if (cfg_.activation == FfnActivation::kRelu2) relu2_glu_forward(mat(a.gate, R, F), mat(a.up, R, F), mat(a.act, R, F));
  else swiglu_forward(mat(a.gate, R, F), mat(a.up, R, F), mat(a.act, R, F));
  Mat<float> x_out = l + 1 < cfg_.n_layer ? mat(acts_[size_t(l + 1)].x_in, R, D) : mat(x_final_, R, D);
  bitlinear_layers(sub_norm(kFfnSubNorm, mat(a.act, R, F), a.rstd4), mat(a.a4q, R, F), xi_ffn_,
                   {{L[kFfnDown], x_out}}, pool, L[kFfnDownActScale], &a.a4);
  add_inplace(x_out, x_mid);
}

double TrainModel::head_forward(std::span<const int32_t> targets, bool backward, float grad_scale,
                                ThreadPool& pool) {
  BITLM_ASSERT(int64_t(targets.size()) == rows_);
  for (int32_t y : targets)
    BITLM_CHECK(y < cfg_.n_vocab, "target token id {} is outside the vocab ({})", y, cfg_.n_vocab);
  const int64_t R = rows_, D = cfg_.n_embd, V = cfg_.n_vocab;
  const ParamTensor& norm = tensors_[output_norm_];
  const ParamTensor& head = tensors_[output_];
  Mat<const float> w_head(params_.data() + head.offset, V, D);
  rms_norm_forward(mat(x_final_, R, D), std::span<const float>(params_.data() + norm.offset, size_t(D)),
                   cfg_.rms_eps, mat(xf_, R, D), rstd_final_);
  matmul_forward_transposed(mat(xf_, R, D), {head_t_.data(), D, V}, mat(logits_, R, V), pool);
  if (!backward) return cross_entropy_loss(mat(logits_, R, V), targets, pool);
  const double loss = cross_entropy_forward_backward(mat(logits_, R, V), targets, grad_scale, pool);
  Mat<float> dxf = mat(d_d_, R, D);
  matmul_backward_input(mat(logits_, R, V), w_head, dxf, pool, MatmulOut::kOverwrite);
  matmul_backward_weight(mat(logits_, R, V), mat(xf_, R, D), {grads_.data() + head.offset, V, D}, pool,
                         MatmulOut::kOverwrite);
  zero(mat(dres_, R, D));
  rms_norm_backward(dxf, mat(x_final_, R, D), std::span<const float>(params_.data() + norm.offset, size_t(D)),
                    rstd_final_, mat(dres_, R, D), {grads_.data() + norm.offset, size_t(D)}, pool);
  return loss;
}

void TrainModel::act_scale_backward(size_t act_scale, const std::vector<float>& x_keep, Mat<float> dx,
                                    ThreadPool& pool) {
  if (act_scale == kNoTensor) return;  // absmax: the STE passes dx through as it is
  const ParamTensor& t = tensors_[act_scale];
  BITLM_ASSERT(x_keep.size() == size_t(dx.rows * dx.cols));
  grads_[t.offset] += elastic_quantize_backward({x_keep.data(), dx.rows, dx.cols}, params_[t.offset], dx, pool);
}

// dres_ holds dL/d(layer output) on entry and dL/d(layer input) on exit (the residual stream).
void TrainModel::layer_backward(int64_t l, ThreadPool& pool) {
  using enum TensorRole;
  const Layer& L = layers_[size_t(l)];
  LayerActs& a = acts_[size_t(l)];
  const int64_t R = rows_, D = cfg_.n_embd, F = cfg_.n_ff, Q = cfg_.q_dim(), KV = cfg_.kv_dim();
  const int H = int(cfg_.n_head), Hkv = int(cfg_.n_head_kv), Dh = int(cfg_.head_dim());
  const bool neox = model_cfg_.rope_neox;
  auto P = [&](size_t i) { return std::span<const float>(params_.data() + tensors_[i].offset, tensors_[i].size()); };
  auto G = [&](size_t i) { return std::span<float>(grads_.data() + tensors_[i].offset, tensors_[i].size()); };
  auto W = [&](size_t i) { return forward_weight(i); };
  auto dW = [&](size_t i) { return Mat<float>(grads_.data() + tensors_[i].offset, tensors_[i].rows, tensors_[i].cols); };
  Mat<float> dres = mat(dres_, R, D), dh = mat(d_d_, R, D);
  Mat<float> da4 = mat(d_f_, R, F, 0), dact = mat(d_f_, R, F, 1), dgate = mat(d_f_, R, F, 2), dup = mat(d_f_, R, F, 3);
  Mat<float> da2 = mat(d_a_, R, Q, 0), datt = mat(d_a_, R, Q, 1), dq = mat(d_a_, R, Q, 2);
  Mat<float> dk = mat(d_qkv_, R, KV, 0), dv = mat(d_qkv_, R, KV, 1);
  // da4, da2 and dh are overwritten by their first dX (dgate, dup by the GLU backward), dW always.
  for (Mat<float> m : {dact, datt, dq, dk, dv}) zero(m);
  auto linear_backward = [&](Mat<const float> dy, Mat<const float> x_q, size_t w, Mat<float> dx, MatmulOut dx_out) {
    bitlinear_backward(dy, x_q, W(w), dx, dW(w), pool, cfg_.matmul_precision, dx_out, MatmulOut::kOverwrite);
  };
  // The SubLN backward into dx (dy's gradient as it is in an arch without sub-norms).
  auto sub_norm_backward = [&](TensorRole role, Mat<float> dy, Mat<const float> x, std::span<const float> rstd,
                               Mat<float> dx) {
    if (L[role] == kNoTensor) return dy;
    rms_norm_backward(dy, x, P(L[role]), rstd, dx, G(L[role]), pool);
    return dx;
  };
  constexpr MatmulOut kFirst = MatmulOut::kOverwrite, kThen = MatmulOut::kAdd;

  // FFN block; the residual passes dres through unchanged.
  linear_backward(dres, mat(a.a4q, R, F), L[kFfnDown], da4, kFirst);
  act_scale_backward(L[kFfnDownActScale], a.a4, da4, pool);
  dact = sub_norm_backward(kFfnSubNorm, da4, mat(a.act, R, F), a.rstd4, dact);
  if (cfg_.activation == FfnActivation::kRelu2) relu2_glu_backward(dact, mat(a.gate, R, F), mat(a.up, R, F), dgate, dup);
  else swiglu_backward(dact, mat(a.gate, R, F), mat(a.up, R, F), dgate, dup);
  linear_backward(dgate, mat(a.h3q, R, D), L[kFfnGate], dh, kFirst);
  linear_backward(dup, mat(a.h3q, R, D), L[kFfnUp], dh, kThen);
  act_scale_backward(L[kFfnGateUpActScale], a.h3, dh, pool);
  rms_norm_backward(dh, mat(a.x_mid, R, D), P(L[kFfnNorm]), a.rstd3, dres, G(L[kFfnNorm]), pool);

  // Attention block.
  linear_backward(dres, mat(a.a2q, R, Q), L[kAttnOutput], da2, kFirst);
  act_scale_backward(L[kAttnOutputActScale], a.a2, da2, pool);
  datt = sub_norm_backward(kAttnSubNorm, da2, mat(a.att, R, Q), a.rstd2, datt);
  attention_backward(datt, mat(a.q, R, Q), mat(a.k, R, KV), mat(a.v, R, KV), H, Hkv, Dh, cfg_.seq_len,
                     dq, dk, dv, pool);
  rope_backward(dq, H, rope_, pos_, neox);
  rope_backward(dk, Hkv, rope_, pos_, neox);
  linear_backward(dq, mat(a.h1q, R, D), L[kAttnQ], dh, kFirst);
  linear_backward(dk, mat(a.h1q, R, D), L[kAttnK], dh, kThen);
  linear_backward(dv, mat(a.h1q, R, D), L[kAttnV], dh, kThen);
  act_scale_backward(L[kAttnQkvActScale], a.h1, dh, pool);
  rms_norm_backward(dh, mat(a.x_in, R, D), P(L[kAttnNorm]), a.rstd1, dres, G(L[kAttnNorm]), pool);
}

double TrainModel::forward_backward(std::span<const int32_t> inputs, std::span<const int32_t> targets,
                                    float grad_scale, ThreadPool& pool) {
  zero_added_grads();
  forward_layers(inputs, pool);
  const double loss = head_forward(targets, true, grad_scale, pool);
  for (int64_t l = cfg_.n_layer - 1; l >= 0; --l) layer_backward(l, pool);
  const int64_t D = cfg_.n_embd;
  float* dE = grads_.data() + tensors_[tok_embd_].offset;
  for (int64_t r = 0; r < rows_; ++r) {  // serial: repeated tokens add in a fixed order
    const float* d = dres_.data() + r * D;
    float* row = dE + int64_t(tokens_[size_t(r)]) * D;
    for (int64_t i = 0; i < D; ++i) row[i] += d[i];
  }
  return loss;
}

double TrainModel::forward(std::span<const int32_t> inputs, std::span<const int32_t> targets,
                           ThreadPool& pool, std::vector<float>* logits_out, bool kv_f16) {
  kv_f16_ = kv_f16;
  forward_layers(inputs, pool);
  kv_f16_ = false;
  const double loss = head_forward(targets, false, 0.0f, pool);
  if (logits_out) logits_out->assign(logits_.begin(), logits_.end());
  return loss;
}

}  // namespace bitlm
