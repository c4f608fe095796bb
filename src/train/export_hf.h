// train/export_hf.h — a training checkpoint as a Hugging Face folder in the 2B-4T layout
// (`bitlm export CKPT --format hf -o DIR`): config.json (BitNetForCausalLM, quantization_config
// bitnet / autobitlinear / offline, as microsoft/bitnet-b1.58-2B-4T), model.safetensors with each
// BitLinear weight quantized by the training quantizer (b1.58 absmean, b1 sign; the same as
// export_gguf) and packed as transformers' pack_weights (uint8, 4 slabs along the output axis) with
// an F32 weight_scale that multiplies (F32 so the scale survives exactly), norms, embedding and an
// untied head as F32; tokenizer.json (byte-level BPE), tokenizer_config.json (BOS/EOS, add_bos,
// chat_template when the tokenizer GGUF has one) and generation_config.json. `bitlm convert DIR`
// gives back the same tensors (T2) bit for bit. Supported: arch "bitnet" (sub-norms), b1.58 and b1
// weights; an fp model or another arch is a UserError naming it.
#pragma once
#include <string>

namespace bitlm {

class TrainModel;

void export_hf(const TrainModel& model, const std::string& tokenizer_gguf, const std::string& dir);
void export_checkpoint_hf(const std::string& checkpoint, const std::string& tokenizer_gguf, const std::string& dir);

}  // namespace bitlm
