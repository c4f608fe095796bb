// model/config.h — ModelConfig and THE arch table: the one GGUF schema of a model file
// (metadata keys <-> fields here; tensor names <-> weights in each arch's tensor table,
// model/tensor_table.h). Everything else in model/ reads the config, never the raw keys.
//
// Keys (prefix = general.architecture): <arch>.embedding_length (D), .feed_forward_length (F),
// .block_count, .attention.head_count (H), .attention.head_count_kv (Hkv),
// .attention.layer_norm_rms_epsilon, .rope.freq_base, .context_length, .rope.dimension_count (Dh),
// .vocab_size (V; else the rows of token_embd), and bitlm's .feed_forward_activation
// ("silu" | "relu2"; else the arch default) and .weight_mode ("b1.58" | "b1": ternary linear
// weights, the default; "fp": full-precision linear weights run as they are, see weights.h) and
// .act_bits (2..16: an fp model's linear inputs quantized per token, for PTQ models) and .act_quant
// ("absmax", the default: per-token scales; "elastic": each BitLinear input quantized with the one
// learned scale its act_scale tensor holds, tensor_table.h act_scale_rows).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "model/tensor_table.h"

namespace bitlm {

class GgufFile;
class GgufWriter;

enum class FfnActivation { kSilu, kRelu2 };

std::string_view activation_name(FfnActivation act);

// One row of the arch table: what a file of this architecture runs.
struct ArchTraits {
  std::string_view name;
  FfnActivation default_activation;
  const TensorTable* tensors;  // its tensor names; sub-norms (003 sec. 2, SubLN) iff the table has them
  bool rope_neox;              // pairs (i, i+Dh/2); false = adjacent pairs (GGUF-permuted llama q/k)
  float default_rope_theta;
};

std::span<const ArchTraits> supported_archs();
// The row of `arch`, or nullptr.
const ArchTraits* find_arch(std::string_view arch);

struct ModelConfig {
  std::string arch;
  int64_t n_embd = 0, n_ff = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0;
  int64_t n_ctx_train = 0, n_vocab = 0;
  float rms_eps = 1e-5f, rope_theta = 10000.0f;
  bool rope_neox = true, sub_norms = true;  // the arch row's (sub_norms: its table has them)
  FfnActivation activation = FfnActivation::kSilu;
  bool fp_linear = false;  // .weight_mode "fp": the FP16 LLaMA baseline of the papers (no quantizers)
  int act_bits = 0;        // .act_bits (fp models only): per-token absmax activations at that many bits
                           // (a post-training-quantized model, quant/ptq.h); 0 = float activations
  bool elastic_act = false;  // .act_quant "elastic": fixed learned activation scales (003 sec. 5, Table 9)

  // Reads and validates the keys above; FormatError naming the file and key otherwise.
  // n_vocab falls back to `embd_rows` (token_embd's row count) when the key is absent.
  static ModelConfig from_gguf(const GgufFile& file);
  void write_gguf(GgufWriter& writer) const;  // the same keys, for synth and export

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
  // The tensor table of `arch` (BITLM_ASSERT that it is in the arch table).
  const TensorTable& tensors() const;
  // Sets `arch` and what its row decides (RoPE pairing, sub-norms); BITLM_ASSERT that it is known.
  void set_arch(std::string_view arch);
  // The arch under which llama.cpp / ik_llama.cpp run this graph, whose FFN activation they fix by
  // the name (bitlm reads it from a key): `bitnet` (sub-norms, SiLU: llama.cpp and ik_llama.cpp),
  // `bitnet-b1.58` (sub-norms, ReLU^2: ik_llama.cpp), `llama` (no sub-norms, SiLU); empty when no
  // peer runs it (llama with ReLU^2).
  std::string_view peer_arch() const;
  // Before writing a file in a peer's weight type (TQ1_0, TQ2_0, I2_S, IQ2_BN): renames the arch to
  // peer_arch() (the same tensor table, so the tensors are unchanged); UserError if there is none.
  void use_peer_arch();
  // Before writing ternary linear weights as `ternary_type` (a quant/ternary_formats.h write type):
  // a peer's type (TQ2_0, TQ1_0, I2_S, IQ2_BN) renames the arch (use_peer_arch), and every linear row width
  // (D, F, the attention width) must be whole blocks of the type — UserError naming `what` otherwise.
  void prepare_ternary_write(uint32_t ternary_type, std::string_view what);
};

}  // namespace bitlm
