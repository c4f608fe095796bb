// train/export.h — a training checkpoint to the inference GGUF that model/ loads (arch "bitnet",
// llama.cpp tensor names): BitLinear weights quantized offline with the training quantizer and
// packed as bitlm's native T2 (b1.58: absmean ternary, b1: +-1, both times beta), norms,
// embedding and untied head as F32, and the tokenizer's vocab copied from its GGUF.
// `weight_type` (quant/ternary_formats.h ternary_write_types) packs the ternary weights as bitlm's
// T2 (default) or T1, or as a peer's TQ2_0 / TQ1_0 / I2_S / IQ2_BN under the arch the peers run
// (ModelConfig::use_peer_arch: a SiLU model as `bitnet`, which upstream llama.cpp loads); UserError
// naming the tensor when its rows are not whole blocks of the type (TQ: 256).
// An fp model (the FP baseline) keeps its linear weights in float (`fp_type`: F16, F32 or BF16)
// and is marked bitnet.weight_mode = "fp", so model/ runs them without any quantizer.
#pragma once
#include <cstdint>
#include <string>

#include "core/ggml_types.h"

namespace bitlm {

class TrainModel;
struct TrainModelConfig;

// tokenizer_gguf may be empty (no tokenizer.* keys: enough for logits, not for `generate`).
// fp_type is used by fp models only; UserError if it is not F16, F32 or BF16.
void export_gguf(const TrainModel& model, const std::string& tokenizer_gguf, const std::string& out_path,
                 uint32_t fp_type = kGgmlF16, uint32_t weight_type = kGgmlBitlmT2);
void export_checkpoint(const std::string& checkpoint, const std::string& tokenizer_gguf, const std::string& out_path,
                       uint32_t fp_type = kGgmlF16, uint32_t weight_type = kGgmlBitlmT2);

}  // namespace bitlm
