// train/export.h — a training checkpoint to the inference GGUF that model/ loads (arch "bitnet",
// llama.cpp tensor names): BitLinear weights quantized offline with the training quantizer and
// packed as bitlm's native T2 (b1.58: absmean ternary, b1: +-1, both times beta), norms,
// embedding and untied head as F32, and the tokenizer's vocab copied from its GGUF.
#pragma once
#include <string>

namespace bitlm {

class TrainModel;
struct TrainModelConfig;

// tokenizer_gguf may be empty (no tokenizer.* keys: enough for logits, not for `generate`).
// Throws UserError for an fp model (it has no ternary inference form).
void export_gguf(const TrainModel& model, const std::string& tokenizer_gguf, const std::string& out_path);
void export_checkpoint(const std::string& checkpoint, const std::string& tokenizer_gguf, const std::string& out_path);

}  // namespace bitlm
