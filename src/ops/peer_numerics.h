// ops/peer_numerics.h — the numeric details in which the peers (llama.cpp on TQ1_0/TQ2_0, bitnet.cpp
// on I2_S) differ from 003's math, as opt-in fake-quant steps on f32 rows: each function rounds
// its input in place to exactly the values the peer's kernel multiplies, so a following f32
// matmul reproduces the peer up to float summation order. Defaults keep the paper's math.
//
// The attention heads they change are behind ops/attention.h's attention_head (the KV storage
// and these numerics pick the kernel). Rows are (T, n) row-major f32. Block layouts follow ggml: Q8_K = 256 values with one f32 scale,
// Q8_0 = 32 values with one f16 scale.
#pragma once
#include <cstdint>
#include <string_view>

#include "core/mat.h"

namespace bitlm {

enum class ActQuant {
  kPerToken,  // 003 eq. 6-7: s = 127 / max|x| per token (bitnet.cpp's I2_S path too)
  kQ8K,       // llama.cpp's Q8_K: per 256 values, iscale = -127 / (signed max), nearest int
};

struct PeerNumerics {
  ActQuant act_quant = ActQuant::kPerToken;
  bool q_f16 = false;      // Q rounded to f16 before Q.K^T (ggml converts src1 to F16 for an F16 K)
  bool probs_f16 = false;  // softmax probabilities rounded to f16 before P.V (same, for V^T)
  bool head_q8_0 = false;  // final hidden state quantized Q8_0 (per 32) for a Q8_0 head
  bool flash_f16 = false;  // ggml's CPU flash attention: online softmax, P.V accumulated in f16

  // llama.cpp's CPU graph on TQ1_0/TQ2_0 as the fixture was made (flash attention on, its CPU
  // default): q8k, q-f16, flash-f16, head-q8_0.
  static PeerNumerics llama_cpp();
  // bitnet.cpp on I2_S (an older llama.cpp, flash attention off): per-token int8 activations,
  // q-f16, probs-f16, head-q8_0.
  static PeerNumerics bitnet_cpp();
  // Parses "paper" | "llama.cpp" | "bitnet.cpp" or a comma list of: q8k, q-f16, probs-f16, head-q8_0,
  // flash-f16.
  static PeerNumerics parse(std::string_view spec);
};

// Quantize-dequantize each row per ggml's Q8_K (quantize_row_q8_K_ref); n % 256 == 0.
void fake_quant_q8_k(Mat<float> x);
// Quantize-dequantize each row per ggml's Q8_0 (quantize_row_q8_0_ref); n % 32 == 0.
void fake_quant_q8_0(Mat<float> x);
// Rounds every value to the nearest f16.
void round_f16(Mat<float> x);

// The BitLinear input as the numerics' kernel multiplies it, for the f32 matmul that follows:
// with Q8_K activations, x fake-quantized into xf (same shape, stride cols); otherwise x itself.
// (The default per-token int8 path quantizes into int8 codes instead: quant/act_rows.h.)
Mat<const float> peer_bitlinear_input(const PeerNumerics& num, Mat<const float> x, float* xf);

}  // namespace bitlm
