// model/act_quant.h — the numeric details in which the peers (llama.cpp on TQ1_0/TQ2_0, bitnet.cpp
// on I2_S) differ from 003's math, as opt-in fake-quant steps on f32 rows: each function rounds
// its input in place to exactly the values the peer's kernel multiplies, so a following f32
// matmul reproduces the peer up to float summation order. Defaults keep the paper's math.
//
// Rows are (T, n) row-major f32. Block layouts follow ggml: Q8_K = 256 values with one f32 scale,
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

// One causal attention head over an f16 KV cache as ggml computes it without flash attention:
// scores = (q . k) * scale in f32, f32 softmax, then P.V with P optionally rounded to f16.
// q must already hold the (possibly f16-rounded) query. scores: n_pos floats of scratch.
void attention_head_peer(const float* q, const uint16_t* k, const uint16_t* v, int64_t kv_stride,
                         int64_t n_pos, int head_dim, bool probs_f16, float* scores, float* out);
// The same head as ggml's CPU flash attention with an f16 V (flash_attn_ext_f16_one_chunk): one
// pass with a running max M and sum S; the output accumulator is an f16 row, rescaled by
// exp(M_old - M) when the max grows. acc16: head_dim floats of scratch.
void attention_head_flash_f16(const float* q, const uint16_t* k, const uint16_t* v, int64_t kv_stride,
                              int64_t n_pos, int head_dim, float* acc16, float* out);

}  // namespace bitlm
