// model/synth.h — random-weight models of published shapes, written as GGUF, to test and
// benchmark without a download. Ternary weights in bitlm's native T2 (or T1) type (uniform codes in
// {-1,0,+1}, one per-tensor scale 1/sqrt(2/3 * cols) so activations keep unit scale), embedding
// F16 (or Q8_0, Q6_K), norm weights 1 + N(0, 0.02). The tokenizer is a self-contained byte-level vocab
// (256 byte tokens, <s>, </s>, one merge " t", <unused_N> padding; model "gpt2") unless copied from
// another GGUF.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace bitlm {

struct SynthOptions {
  std::string shape = "tiny";   // bitnet-2b4t | bitnet-700m | bitnet-3b | tiny | micro | nano
  uint64_t seed = 1;
  uint32_t embd_type = 1;       // ggml type of token_embd: F16 (1), Q8_0 (8) or Q6_K (14); see synth_default_embd_type
  // BITLM_T2 (1024), BITLM_T1 (1025, 1.6 bits; see synth_default_weight_type) or a peer's type
  // (TQ2_0, TQ1_0, I2_S, IQ2_BN: quant/ternary_formats.h ternary_write_types), written under the arch the
  // peers run (ModelConfig::use_peer_arch); or F16 (1): an fp model (weight_mode "fp", the papers'
  // FP16 twin of the same shape, N(0, 1/cols) weights)
  uint32_t weight_type = 1024;
  std::string tokenizer_from{};  // a GGUF whose tokenizer.ggml.* keys are copied; empty: byte vocab
  std::string activation{};      // "silu" | "relu2" instead of the shape's (upstream llama.cpp runs SiLU only)
};

std::vector<std::string> synth_shape_names();
// The config of a named shape; UserError listing the names if unknown.
ModelConfig synth_config(const std::string& shape);
// Q6_K for the published shapes (their tied 128k-vocab head is most of the bytes decode reads per
// token: 2B-4T 657 MB in F16, 349 MB in Q8_0, 263 MB in Q6_K), Q8_0 where D is not a multiple of
// 256 (bitnet-3b), F16 for the small test shapes.
uint32_t synth_default_embd_type(const std::string& shape);
// For the published shapes the layout this CPU decodes fastest (best_kernels().fastest_layout: T2
// with AVX2, T1 with AVX-512), so the file runs as stored (quant/packed_layout.h load_layout: a
// T1 file stays T1 in memory); T2 for the small test shapes (the same file on every machine).
uint32_t synth_default_weight_type(const std::string& shape);
// Writes the model to `path` (atomically). Returns its config.
ModelConfig write_synth_model(const SynthOptions& options, const std::string& path);

}  // namespace bitlm
