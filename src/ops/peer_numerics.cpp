// ops/peer_numerics.cpp — see peer_numerics.h. Scalar code: these paths trade speed for bit-level
// agreement with the peers and are not used by default.
#include "ops/peer_numerics.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/checked.h"
#include "core/error.h"
#include "core/fp16.h"

namespace bitlm {
namespace {

// ggml's nearest_int: round half to even under the default FP mode (NaN -> 0, saturating).
inline int nearest_int(float v) { return nearest_int_saturated(v); }

}  // namespace

PeerNumerics PeerNumerics::llama_cpp() {
  PeerNumerics n;
  n.act_quant = ActQuant::kQ8K;
  n.q_f16 = n.flash_f16 = n.head_q8_0 = true;
  return n;
}

PeerNumerics PeerNumerics::bitnet_cpp() {
  PeerNumerics n;
  n.q_f16 = n.probs_f16 = n.head_q8_0 = true;
  return n;
}

PeerNumerics PeerNumerics::parse(std::string_view spec) {
  if (spec == "paper" || spec.empty()) return {};
  if (spec == "llama.cpp") return llama_cpp();
  if (spec == "bitnet.cpp") return bitnet_cpp();
  PeerNumerics n;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    if (item == "q8k") n.act_quant = ActQuant::kQ8K;
    else if (item == "q-f16") n.q_f16 = true;
    else if (item == "probs-f16") n.probs_f16 = true;
    else if (item == "head-q8_0") n.head_q8_0 = true;
    else if (item == "flash-f16") n.flash_f16 = true;
    else
      throw UserError(fmt::format("unknown numerics '{}': expected paper, llama.cpp, bitnet.cpp or a comma list of "
                                  "q8k, q-f16, probs-f16, head-q8_0, flash-f16", item));
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
  }
  return n;
}

// ggml quantize_row_q8_K_ref: the scale comes from the value of largest magnitude WITH its sign,
// iscale = -127/max, q = min(127, nearest_int(iscale*x)), d = 1/iscale; dequantized q*d.
void fake_quant_q8_k(Mat<float> x) {
  BITLM_ASSERT(x.cols % 256 == 0);
  for (int64_t t = 0; t < x.rows; ++t)
    for (int64_t b = 0; b < x.cols; b += 256) {
      float* v = x.row_ptr(t) + b;
      float max = 0, amax = 0;
      for (int j = 0; j < 256; ++j)
        if (std::fabs(v[j]) > amax) amax = std::fabs(v[j]), max = v[j];
      if (amax == 0) { std::fill(v, v + 256, 0.0f); continue; }
      const float iscale = -127.0f / max, d = 1.0f / iscale;
      for (int j = 0; j < 256; ++j) v[j] = float(std::min(127, nearest_int(iscale * v[j]))) * d;
    }
}

// ggml quantize_row_q8_0 (the x86 SIMD one): d = amax/127 stored as f16, q = nearest(x * 127/amax).
void fake_quant_q8_0(Mat<float> x) {
  BITLM_ASSERT(x.cols % 32 == 0);
  for (int64_t t = 0; t < x.rows; ++t)
    for (int64_t b = 0; b < x.cols; b += 32) {
      float* v = x.row_ptr(t) + b;
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[j]));
      const float id = amax != 0 ? 127.0f / amax : 0.0f, d16 = f16_round(amax / 127.0f);
      for (int j = 0; j < 32; ++j) v[j] = float(nearest_int(v[j] * id)) * d16;
    }
}

void round_f16(Mat<float> x) {
  for (int64_t t = 0; t < x.rows; ++t)
    for (int64_t i = 0; i < x.cols; ++i) x.row_ptr(t)[i] = f16_round(x.row_ptr(t)[i]);
}

Mat<const float> peer_bitlinear_input(const PeerNumerics& num, Mat<const float> x, float* xf) {
  if (num.act_quant != ActQuant::kQ8K) return x;
  BITLM_ASSERT(x.stride == x.cols);
  Mat<float> out(xf, x.rows, x.cols);
  std::copy(x.data, x.data + x.rows * x.cols, out.data);
  fake_quant_q8_k(out);  // llama.cpp: the Q8_K values, multiplied in f32
  return out;
}

}  // namespace bitlm
