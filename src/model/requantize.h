// model/requantize.h — re-encodes the dense token embedding of a model GGUF (and its untied
// output head, if any) in another ggml type, copying every other tensor and key unchanged: what
// `bitlm quantize --embd-type` runs to measure what quantizing the head costs.
#pragma once
#include <cstdint>
#include <string>

namespace bitlm {

// Reads `in`, writes `out` atomically. token_embd and output are decoded to f32 and encoded in
// `type` (F32, F16, BF16, Q8_0 or Q6_K, ggml's reference quantizers); UserError naming the tensor
// when its rows do not split into the type's blocks, FormatError naming `in` for a bad file.
// Returns how many tensors were re-encoded.
int requantize_embedding(const std::string& in, const std::string& out, uint32_t type);

}  // namespace bitlm
