// train/train_model.h — the model being trained: an arch of model/'s arch table (its tensor table
// names the parameters, its row decides the RoPE pairing and the sub-norms) with fp32 latent
// weights, its training forward that saves activations, and the explicit backward pass (no tape).
//
// One layer (003 Fig. 11 BitLinear with the norm outside it, SubLN before W_o and W_down):
//   h = rms_norm(x, attn_norm);  q,k,v = BitLinear(h);  rope(q,k);  a = attn(q,k,v)
//   x += BitLinear_o(rms_norm(a, attn_sub_norm))
//   h = rms_norm(x, ffn_norm);   g,u = BitLinear(h);  f = act(g) * u (silu | relu2)
//   x += BitLinear_down(rms_norm(f, ffn_sub_norm))
// (an arch without sub-norms, `llama`, feeds a and f to W_o and W_down as they are), then
// logits = rms_norm(x, output_norm) E^T (tied) or W_out^T — embedding and head stay fp32.
//
// Storage: one contiguous arena each for parameters and gradients (llm.c), walked through one
// tensor table that also drives the optimizer, checkpoints, all-reduce and export.
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/config.h"
#include "ops/ops_backward.h"
#include "quant/matrix.h"

namespace bitlm {

struct TrainModelConfig {
  std::string arch = "bitnet";  // a row of model/'s arch table: tensor names, RoPE pairing, sub-norms
  int64_t n_vocab = 4096, n_embd = 256, n_ff = 688, n_layer = 4, n_head = 8, n_head_kv = 8;
  int64_t seq_len = 256;  // training context; also the exported context_length
  float rms_eps = 1e-5f, rope_theta = 10000.0f;
  FfnActivation activation = FfnActivation::kSilu;
  WeightMode weight_mode = WeightMode::kTernary;
  bool tied_embedding = true;
  // Group quantization (003 App. A.1, eq. 14-15): every BitLinear quantizes its weight per row
  // group and its input per column group, `quant_groups` of each, as that many model-parallel
  // shards would without communicating. 1: per-tensor beta, per-token gamma (the paper's default).
  int64_t quant_groups = 1;
  // model.act_quant: "absmax" (false: per-token absmax, 003 eq. 6-7) or "elastic" (true: the
  // learnable-scale quantizer 003 sec. 5 / Table 9 ablates, ops/ops_backward.h elastic_quantize_input):
  // one alpha per BitLinear input, a parameter (TensorKind::kActScale, no weight decay) set from the
  // first batch the model sees (max|x| / 127 over it) and then learned with LSQ's gradient.
  bool elastic_act = false;
  // The BitLinear backward matmuls (dx, dw); a training choice, not part of the model's shape
  // (a checkpoint resumes under either). Head, embedding and attention stay fp32.
  MatmulPrecision matmul_precision = MatmulPrecision::kFp32;

  int64_t head_dim() const { return n_embd / n_head; }
  int64_t q_dim() const { return n_head * head_dim(); }
  int64_t kv_dim() const { return n_head_kv * head_dim(); }
  void validate() const;  // UserError naming the bad field
  // The inference config of this model (what export writes; the tensor shapes and RoPE style).
  ModelConfig model_config() const;
};

WeightMode parse_weight_mode(const std::string& s);  // "b1.58" | "b1" | "fp"; UserError otherwise
const char* weight_mode_name(WeightMode m);

// kind: norm gains (no weight decay), BitLinear weights (quantized in the forward, decayed), the
// token embedding (not decayed; also the head when tied) and an untied fp head (decayed).
struct ParamTensor {
  std::string name;  // GGUF name from the arch's tensor table, e.g. "blk.0.attn_q.weight"
  int64_t rows = 0, cols = 0;  // rows = output features; norms are 1 x D
  size_t offset = 0;           // into the arenas
  TensorKind kind = TensorKind::kNorm;
  size_t size() const { return size_t(rows * cols); }
};

class TrainModel {
 public:
  explicit TrainModel(const TrainModelConfig& config);

  // Norm gains 1; every other tensor N(0, init_std^2) from Rng(seed), in table order.
  // Elastic models: the activation scales are set to 0, "not yet calibrated": the first forward
  // sets each to max|x| / 127 of its input in that batch (the trainer runs it on the first batch
  // before the first step, so that every sequence runner and rank starts from the same scales).
  void init(uint64_t seed, float init_std = 0.02f);

  const TrainModelConfig& config() const { return cfg_; }
  std::span<const ParamTensor> tensors() const { return tensors_; }
  const ParamTensor& tensor(const std::string& name) const;  // BITLM_ASSERT if absent
  // Mutable access marks the quantized weights stale: the next forward quantizes (and packs)
  // them again — once per optimizer step, not once per sequence. A span taken here must not be
  // written after the next forward (fp reads params directly, so it may).
  std::span<float> params() { weights_fresh_ = false; return params_; }
  std::span<const float> params() const { return params_; }
  std::span<float> grads() { return grads_; }
  std::span<float> param(const ParamTensor& t) {
    weights_fresh_ = false;
    return {params_.data() + t.offset, t.size()};
  }
  std::span<float> grad(const ParamTensor& t) { return {grads_.data() + t.offset, t.size()}; }
  // Exchanges the gradient buffer with `other` (resized to it first): the trainer takes each
  // sequence's gradient without copying it. grads() is unspecified until the next forward_backward().
  void swap_grads(std::vector<float>& other);

  // n_seq = inputs.size() / seq_len sequences, each at positions 0..seq_len-1. targets[i] is the
  // token after inputs[i] (negative: ignored). Writes grad_scale * dLoss_sum/dparam into grads()
  // (overwritten, not added: nothing needs zeroing first) and returns the summed loss over the
  // targets.
  double forward_backward(std::span<const int32_t> inputs, std::span<const int32_t> targets,
                          float grad_scale, ThreadPool& pool);
  // Eval mode: the summed loss only. If logits_out is given it receives (n_tokens, V) logits.
  // kv_f16 rounds K and V to IEEE half after RoPE, as the inference KV cache stores them (the
  // export test compares against model/ with it).
  double forward(std::span<const int32_t> inputs, std::span<const int32_t> targets,
                 ThreadPool& pool, std::vector<float>* logits_out = nullptr, bool kv_f16 = false);

  // Weights as the forward sees them (quantized BitLinear, else latent): for export and tests.
  std::vector<float> quantized_weight(const ParamTensor& t) const;

 private:
  struct LayerActs {  // what the backward of one layer reads; (rows, width) each
    std::vector<float> x_in, rstd1, h1q, q, k, v, att, rstd2, a2q;
    std::vector<float> x_mid, rstd3, h3q, gate, up, act, rstd4, a4q;
    std::vector<float> h1, a2, h3, a4;  // elastic only: the BitLinear inputs before quantization
  };
  void resize_activations(int64_t rows);
  void prepare_weights(ThreadPool& pool);  // wq_, packed_ and head_t_, once per parameter update
  void zero_added_grads();
  Mat<const float> forward_weight(size_t i) const;  // w_q, or the latent w in fp mode
  // b1.58 with one group runs the int8 x ternary GEMM (one beta per matrix, one gamma per token);
  // b1, fp and grouped b1.58 (a gamma per column group) the fp32 matmul of the dequantized operands.
  bool packed_path() const { return cfg_.weight_mode == WeightMode::kTernary && cfg_.quant_groups == 1; }
  // The BitLinear layers sharing the input x: x_q (saved for dW) and y_m = x_q W_m^T — through
  // the int8 x ternary GEMM or the fp32 matmul (packed_path).
  // act_scale: an elastic model's scale tensor of this input (its x is then kept in x_keep for the
  // backward), kNoTensor for per-token absmax.
  void bitlinear_layers(Mat<const float> x, Mat<float> x_q, QuantizedActivations& xi,
                        std::initializer_list<std::pair<size_t, Mat<float>>> outs, ThreadPool& pool,
                        size_t act_scale = kNoTensor, std::vector<float>* x_keep = nullptr);
  // Elastic: dx (dL/dx_q on entry) to dL/dx, and dL/dalpha added to the scale's gradient.
  void act_scale_backward(size_t act_scale, const std::vector<float>& x_keep, Mat<float> dx, ThreadPool& pool);
  void forward_layers(std::span<const int32_t> inputs, ThreadPool& pool);
  void layer_forward(int64_t l, ThreadPool& pool);
  void layer_backward(int64_t l, ThreadPool& pool);
  double head_forward(std::span<const int32_t> targets, bool backward, float grad_scale,
                      ThreadPool& pool);

  TrainModelConfig cfg_;
  ModelConfig model_cfg_;  // cfg_.model_config(): RoPE pairing, sub-norms
  std::vector<ParamTensor> tensors_;
  std::vector<float> params_, grads_, wq_;  // wq_: quantized BitLinear weights, same offsets
  std::vector<TernaryMatrix> packed_;        // b1.58: wq_ packed for the forward GEMM, by tensor index
  RopeTable rope_;                           // cos/sin of positions [0, seq_len)
  std::vector<float> head_t_;                // the head (V, D) transposed, for the forward's outer products
  bool weights_fresh_ = false;               // wq_, packed_ and head_t_ match params_
  QuantizedActivations xi_embd_, xi_attn_, xi_ffn_;  // int8 BitLinear inputs of width D, Q, F
  // A layer's tensor indices by role (model/tensor_table.h); kNoTensor where the arch has none.
  static constexpr size_t kNoTensor = size_t(-1);
  struct Layer {
    std::array<size_t, size_t(TensorRole::kFfnDownActScale) + 1> index;
    size_t operator[](TensorRole role) const { return index[size_t(role)]; }
  };
  std::vector<Layer> layers_;
  size_t tok_embd_ = 0, output_norm_ = 0, output_ = 0;

  int64_t rows_ = 0;  // tokens in the current batch
  bool kv_f16_ = false;
  std::vector<int32_t> pos_, tokens_;
  std::vector<LayerActs> acts_;
  std::vector<float> x_final_, rstd_final_, xf_, logits_, tmp_;
  std::vector<float> dres_, d_d_, d_f_, d_qkv_, d_a_, d_gu_;
};

}  // namespace bitlm
