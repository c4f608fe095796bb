// model/tensor_table.h — THE tensor names of the GGUF schema: one table per architecture family,
// each row naming one tensor of the model file (llama.cpp's name) and the role it plays, i.e. the
// weight it fills. Loading (weights.cpp), synth, the trainer's parameter table and export all
// read names from here; nothing else spells a tensor name.
//
// Roles are what the forward needs; a family lists the ones its files hold (llama has no
// sub-norms). A row's shape follows from its role and the config (tensor_shape).
//
// Extending it: a family with other names (a Hugging Face checkpoint's, a peer's arch) is a new
// table here and a pointer to it in the arch row (config.cpp); a second naming of the same tensors
// (e.g. Hugging Face names next to the GGUF ones) is one more column of TensorRow, filled per
// family — families whose GGUF names agree but whose HF names differ (1bitLLM's
// inner_attn_ln vs 2B-4T's attn_sub_norm) then get a table each.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bitlm {

struct ModelConfig;

enum class TensorRole : uint8_t {
  kTokenEmbd, kOutputNorm, kOutput,  // once per model; kOutput absent = tied to kTokenEmbd
  kAttnNorm, kAttnQ, kAttnK, kAttnV, kAttnSubNorm, kAttnOutput,  // per block, in file order
  kFfnNorm, kFfnGate, kFfnUp, kFfnSubNorm, kFfnDown,
  // Elastic models only (act_scale_rows below): the learned activation scale of each BitLinear input.
  kAttnQkvActScale, kAttnOutputActScale, kFfnGateUpActScale, kFfnDownActScale,
};

// Norm gains (f32 vectors), BitLinear weights (ternary, or float in an fp model), the token
// embedding and an untied output head (dense matrices); an elastic model's 1-value activation scales.
enum class TensorKind { kNorm, kLinear, kEmbedding, kHead, kActScale };

TensorKind tensor_kind(TensorRole role);
bool is_block_role(TensorRole role);  // one tensor per block (layer)

// rows = output features (GGUF ne[1]), cols = input features (ne[0]); a norm is 1 x n.
struct TensorShape { int64_t rows, cols; };
TensorShape tensor_shape(TensorRole role, const ModelConfig& config);

struct TensorRow {
  TensorRole role;
  std::string_view gguf;  // llama.cpp's name; "{}" in a block row stands for the block index
};

struct TensorTable {
  std::span<const TensorRow> model;   // kTokenEmbd, kOutputNorm, kOutput
  std::span<const TensorRow> blocks;  // one block's tensors, in file order

  bool has(TensorRole role) const;
  // The GGUF name of `role` (in block `block` for a block role); BITLM_ASSERT that the family has it.
  std::string gguf_name(TensorRole role, int64_t block = -1) const;
};

// An elastic model's activation scales (003 sec. 5, Table 9's "Elastic": model.act_quant "elastic",
// ModelConfig::elastic_act): one learned alpha per BitLinear input, shared by the matrices that read
// the same input (W_q/W_k/W_v; W_gate/W_up), each a 1-element F32 tensor "blk.{}.<input>.act_scale"
// after the block's tensors. Only elastic files hold them; the same names in every family.
std::span<const TensorRow> act_scale_rows();
// The scale role of the input a linear role reads (kAttnK -> kAttnQkvActScale).
TensorRole act_scale_role(TensorRole linear);
std::string act_scale_name(TensorRole role, int64_t block);

// llama.cpp's `bitnet` names (1bitLLM, and Microsoft's 2B-4T as `bitnet-b1.58` / `bitnet-25`):
// a Llama block plus attn_sub_norm and ffn_sub_norm (SubLN, 003 sec. 2).
extern const TensorTable kBitnetTensors;
// llama.cpp's `llama` names: no sub-norms (HF1BitLLM, Falcon3-1.58bit).
extern const TensorTable kLlamaTensors;

}  // namespace bitlm
