// model/ptq_model.h — `bitlm quantize --ptq`: an fp model file (weight_mode "fp") to a
// post-training-quantized one (quant/ptq.h). Simulated in float: the linear weights are written as
// F32 holding their dequantized values (no integer kernel runs W4 or W2), and activation bits go in
// the key <arch>.act_bits, which makes the forward round every linear input per token (forward.h).
// Everything else (norms, embedding, head, tokenizer, keys) is copied unchanged, so the model
// scores through the same runtime as the trained ones.
// GPTQ's calibration: the text of `calib_file` tokenized and cut into windows of the training
// context (at most calib_tokens tokens); the fp model runs over them once and each linear layer's
// inputs give its Hessian (the inputs of the unquantized model: all layers from one pass, rather
// than GPTQ's layer-by-layer pass through the already-quantized layers below).
#pragma once
#include <cstdint>
#include <string>

namespace bitlm {

struct PtqOptions {
  std::string method = "absmax";  // "absmax" | "gptq"
  double wbits = 8;               // absmax: 1, 1.58, 2..16; gptq: 2..8
  int abits = 16;                 // 16 = float activations; absmax only: 2..15 rounds them per token
  int64_t group_size = 0;         // gptq: columns per (scale, zero); 0 = one per row
  std::string calib_file;         // gptq: calibration text (required)
  int64_t calib_tokens = 16384;
  int threads = 1;
};

struct PtqSummary {
  int n_tensors = 0;           // linear weights quantized
  int64_t calib_tokens = 0;    // tokens the calibration ran (gptq)
  double mean_sq_error = 0;    // mean (w - q)² over the quantized weights
};

// UserError for a model that is not fp, bad bits, gptq without calibration text.
PtqSummary quantize_model_ptq(const std::string& in, const std::string& out, const PtqOptions& options);

// "absmax-w4a4", "gptq-w2a16-g64", as the sweep names PTQ models.
std::string ptq_name(const PtqOptions& options);

}  // namespace bitlm
