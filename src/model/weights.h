// model/weights.h — a model's tensors, loaded once from a GgufFile (which must outlive them).
// Ternary linear weights are packed TernaryMatrix (quant/matrix.h) whatever the file type
// (TQ1_0, TQ2_0, I2_S, T2 exact; F32/F16/BF16 already-ternary keep their exact scale; latent
// full-precision weights are absmean-quantized at load, 003 eq. 3-5). The embedding and the head
// stay in their file format (no f32 copy of a 128256 x 2560 table): a head (or tied embedding) is
// copied into huge pages, since decode streams it whole; an untied embedding stays an mmap view.
// Norm weights are copied to f32. In an fp model (ModelConfig::fp_linear) the linear weights are
// instead F32/F16/BF16 DenseMatrix copies, multiplied as they are with f32 activations.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "model/config.h"
#include "quant/matrix.h"

namespace bitlm {

class GgufFile;

// One linear layer's weights: ternary, or dense (non-empty) in an fp model.
struct LinearWeights {
  TernaryMatrix ternary;
  DenseMatrix dense;
  // Elastic models (ModelConfig::elastic_act): the learned scale alpha of this layer's input, which
  // the int8 path quantizes with s = 1/alpha for every token (quant/quantize.h quantize_elastic_int8);
  // 0 = per-token absmax (003 eq. 6-7).
  float act_scale = 0.0f;
  bool is_fp() const { return dense.rows() > 0; }
  int64_t rows() const { return is_fp() ? dense.rows() : ternary.rows(); }
  int64_t cols() const { return is_fp() ? dense.cols() : ternary.cols(); }
  uint64_t n_bytes() const { return is_fp() ? dense.n_bytes() : ternary.n_bytes(); }
};

struct LayerWeights {
  std::vector<float> attn_norm, attn_sub_norm, ffn_norm, ffn_sub_norm;  // sub-norms empty if absent
  LinearWeights wq, wk, wv, wo;      // (H*Dh, D), (Hkv*Dh, D), (Hkv*Dh, D), (D, H*Dh)
  LinearWeights w_gate, w_up, w_down;  // (F, D), (F, D), (D, F)
  std::array<const LinearWeights*, 7> linears() const { return {&wq, &wk, &wv, &wo, &w_gate, &w_up, &w_down}; }
  // The field a tensor-table row fills (model/tensor_table.h); BITLM_ASSERT on a role of the other kind.
  std::vector<float>* norm(TensorRole role);
  LinearWeights* linear(TensorRole role);
};

struct ModelWeights {
  DenseMatrix token_embd;  // (V, D)
  DenseMatrix output;      // (V, D): output.weight, or token_embd again when tied
  bool tied_output = true;
  std::vector<float> output_norm;
  std::vector<LayerWeights> layers;

  // Validates every tensor's presence, type and shape against `config`; FormatError naming the
  // tensor otherwise. `file` must stay open while the weights are used (embedding/head views).
  static ModelWeights load(const GgufFile& file, const ModelConfig& config);

  uint64_t n_linear_params() const;
  uint64_t n_linear_bytes() const;  // packed ternary (or fp) bytes: what decode streams per token
  uint64_t n_norm_params() const;
};

}  // namespace bitlm
