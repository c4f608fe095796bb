// model/hf_convert.h — a Hugging Face BitNet checkpoint folder to a bitlm GGUF (`bitlm convert`).
//
// Reads config.json, model.safetensors or a sharded model.safetensors.index.json, the tokenizer
// (tokenizer/hf_tokenizer.h) and writes the model as bitlm loads it. Families (FORMATS.md sec. 2):
//   BitNetForCausalLM (2B-4T)      -> arch bitnet-b1.58: relu2, attn_sub_norm / ffn_sub_norm, tied
//   BitnetForCausalLM (1bitLLM)    -> arch bitnet: SiLU, sub-norms inner_attn_ln / ffn_layernorm
//   LlamaForCausalLM + bitnet quantization_config (HF1BitLLM, Falcon3-1.58bit) -> arch llama;
//                                     q/k rows permuted for adjacent-pair RoPE as llama.cpp's converter;
//                                     a head_dim other than hidden / heads (Falcon3) is kept
//                                     (attention.key_length, model/config.h)
// Linear weights: packed uint8 (4 slabs along the output axis, code = w+1; code 3 is an error) times
// weight_scale (autobitlinear, 2B-4T) or divided by it (bitlinear, the default of
// quant_method "bitnet"), or latent F32/F16/BF16 weights ternarized with absmean as the model
// was trained (003 eq. 3-5). Embedding and an untied head keep their dtype (or --embd-type).
// Streaming: tensors are decoded one at a time while the GGUF is written (GgufWriter's streamed
// tensors), and each source tensor's pages are dropped once converted, so memory is one tensor
// plus what the writer buffers. Every problem in the input is a UserError naming the file and field;
// nothing is left at the output path on error.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "model/config.h"

namespace bitlm {

struct ConvertOptions {
  // A ternary write type (quant/ternary_formats.h: T1, T2, or a peer's TQ2_0, TQ1_0, I2_S, IQ2_BN, which
  // renames the arch to the one the peers run, ModelConfig::use_peer_arch); 0: auto, the layout
  // this CPU decodes fastest (best_kernels().fastest_layout: T2 with AVX2, T1 with AVX-512).
  uint32_t weight_type = 0;
  uint32_t embd_type = 0;    // F32, F16, BF16, Q8_0, Q6_K; 0: the checkpoint's dtype
  // Called after each tensor with (bytes written, total bytes of tensor data).
  std::function<void(uint64_t, uint64_t)> progress;
};

struct ConvertResult {
  ModelConfig config;
  std::string family;  // "bitnet-b1.58 (BitNetForCausalLM)", ...
  uint64_t n_tensors = 0;
};

// The 2B-4T layout's Hugging Face name of a tensor-table role (what `export --format hf` writes and
// BitNetForCausalLM checkpoints hold), e.g. kAttnSubNorm, 3 -> "model.layers.3.self_attn.attn_sub_norm.weight".
std::string hf_tensor_name_bitnet(TensorRole role, int64_t layer);
// transformers' pack_weights (integrations/bitnet.py): ternary q [rows, cols] (rows % 4 == 0) to uint8
// [rows/4, cols], slab i (rows i*R .. i*R+R-1, R = rows/4) in bits 2i..2i+1, code = w + 1. The
// converter's unpacking is its inverse.
std::vector<uint8_t> pack_hf_ternary(std::span<const int8_t> q, int64_t rows, int64_t cols);

ConvertResult convert_hf_checkpoint(const std::string& dir, const std::string& out_path, const ConvertOptions& options);

}  // namespace bitlm
