// ops/ops.h — float math shared by inference (model/) and training (train/): one definition.
// Shapes in comments: T tokens, D model dim, H/Hkv heads, Dh head dim. Row-major Mat views.
// Layout: one file per op, ops/<op>.cpp, holding its forward, its backward and the plain `_ref`
// kernel with the ISA dispatch (rms_norm, rope, softmax, glu, attention, attention_quant,
// bitlinear, matmul, matmul_bf16, cross_entropy, exp_lanes); the SIMD twins sit in
// ops/<op>_<isa>.cpp. Headers: this one (the forwards inference calls), ops_backward.h (the
// backward passes, which ADD into the gradients, llm.c style — the matmuls can overwrite
// instead — and the training-only ops), attention.h / attention_quant.h (attention heads and
// their kernel tables), glu_rows.h, matmul_kernels.h, exp_lanes.h (kernel tables).
#pragma once
#include <cstdint>
#include <span>

#include "core/mat.h"

namespace bitlm {

// RMSNorm: y = x / sqrt(mean(x^2) + eps) * g over each row. x, y: (T, D); g: (D); rstd: (T) or
// empty (saved for the backward pass). y may alias x.
void rms_norm_forward(Mat<const float> x, std::span<const float> g, float eps, Mat<float> y,
                      std::span<float> rstd = {});

// Rotary position embedding, in place on x: (T, n_heads*Dh), token t at position pos[t].
// neox = true rotates pairs (i, i+Dh/2) (HF rotate_half / llama.cpp NEOX, used by every BitNet
// arch); false rotates adjacent pairs (2i, 2i+1) (original Llama / GGUF-permuted q,k).
void rope_forward(Mat<float> x, int n_heads, int head_dim, std::span<const int32_t> pos,
                  float theta, bool neox);

// Softmax over each row in place (numerically stable, max-subtracted).
void softmax_forward(Mat<float> x);

// FFN gates, elementwise over (T, F): out = act(gate) * up.
void swiglu_forward(Mat<const float> gate, Mat<const float> up, Mat<float> out);  // silu(g)*u
void relu2_glu_forward(Mat<const float> gate, Mat<const float> up, Mat<float> out);  // relu(g)^2*u

inline float silu(float v) { return v / (1.0f + __builtin_expf(-v)); }

}  // namespace bitlm
