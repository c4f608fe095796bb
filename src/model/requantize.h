// model/requantize.h — re-encodes a model GGUF's tensors in other ggml types, copying everything
// else unchanged: the dense token embedding (and untied output head) with --embd-type, to measure
// what quantizing the head costs; the ternary linear weights with --weight-type, to write the same
// model for another engine (TQ2_0 / TQ1_0 for llama.cpp, I2_S for bitnet.cpp, IQ2_BN for ik_llama.cpp) or
// back into bitlm's own T2 / T1. `bitlm quantize` runs it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace bitlm {

struct RequantizeOptions {
  std::optional<uint32_t> embd_type{};    // F32, F16, BF16, Q8_0, Q6_K or Q4_0 (ggml's reference quantizers)
  std::optional<uint32_t> weight_type{};  // quant/ternary_formats.h ternary_write_types
};

struct RequantizeCounts {
  int embeddings = 0;  // token_embd (+ output)
  int ternary = 0;     // linear weights
};

// Reads `in`, writes `out` atomically. Ternary weights are decoded exactly (one scale per tensor)
// and re-encoded; a peer's weight type renames the arch to the one the peers run
// (ModelConfig::use_peer_arch, arch-prefixed keys renamed with it). UserError naming the tensor
// when its rows do not split into the type's blocks; FormatError naming `in` for a bad file or an fp
// model asked for a ternary type.
RequantizeCounts requantize_model(const std::string& in, const std::string& out, const RequantizeOptions& options);

// The embedding only; returns how many tensors were re-encoded.
int requantize_embedding(const std::string& in, const std::string& out, uint32_t type);

}  // namespace bitlm
