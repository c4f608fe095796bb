// eval/cost_model.cpp — 003 §2.3 eq. 10-12 and Table 1 (see cost_model.h).
#include "eval/cost_model.h"

#include <array>
#include <vector>

#include "core/error.h"

namespace bitlm {
namespace {

constexpr double kPj = 1e-12;

// Horowitz (2014) / Zhang et al. (2022), as 003 Table 1 prints them: {ADD, MUL} in pJ.
OpEnergyPj table1(Precision p, ProcessNode node) {
  const bool n7 = node == ProcessNode::k7nm;
  switch (p) {
    case Precision::kFp32: return n7 ? OpEnergyPj{0.38, 1.31} : OpEnergyPj{0.9, 3.7};
    case Precision::kFp16: return n7 ? OpEnergyPj{0.16, 0.34} : OpEnergyPj{0.4, 1.1};
    case Precision::kInt8: return n7 ? OpEnergyPj{0.007, 0.07} : OpEnergyPj{0.03, 0.2};
  }
  BITLM_ASSERT(false);
}

struct Matmul { double m, n; };  // weight (m x n)

std::vector<Matmul> layer_weights(const TransformerShape& s) {
  const double D = double(s.n_embd), F = double(s.n_ff), Q = double(s.q_dim()), KV = double(s.kv_dim());
  std::vector<Matmul> w = {{Q, D}, {KV, D}, {KV, D}, {D, Q}, {F, D}, {D, F}};
  if (s.glu) w.push_back({F, D});
  return w;
}

}  // namespace

OpEnergyPj op_energy(Precision p, ProcessNode node) { return table1(p, node); }

int64_t TransformerShape::n_linear_params() const {
  double n = 0;
  for (const Matmul& w : layer_weights(*this)) n += w.m * w.n;
  return int64_t(n) * n_layer;
}

std::span<const TransformerShape> paper_table2_shapes() {
  static const std::array<TransformerShape, 3> kShapes = {{
      {"6.7B", 4096, 4 * 4096, 32, 32, 32, 0, 50257, false},
      {"13B", 5120, 4 * 5120, 40, 40, 40, 0, 50257, false},
      {"30B", 7168, 4 * 7168, 48, 56, 56, 0, 50257, false},
  }};
  return kShapes;
}

std::string_view weight_kind_name(WeightKind w) {
  switch (w) {
    case WeightKind::kFp32: return "32";
    case WeightKind::kFp16: return "16";
    case WeightKind::kBitnet: return "1";
  }
  return "?";
}

EnergyJ matmul_energy(const TransformerShape& s, int64_t p_tokens, WeightKind w, ProcessNode node,
                      bool attention) {
  const double p = double(p_tokens), L = double(s.n_layer);
  const OpEnergyPj fp = table1(w == WeightKind::kFp32 ? Precision::kFp32 : Precision::kFp16, node);
  EnergyJ e;
  for (const Matmul& mm : layer_weights(s)) {
    if (w == WeightKind::kBitnet) {
      e.add += mm.m * (mm.n - 1) * p * table1(Precision::kInt8, node).add;  // eq. 10 in INT8
      e.mul += (mm.m * p + mm.n * p) * fp.mul;                              // eq. 12: beta, gamma/Qp
    } else {
      e.add += mm.m * (mm.n - 1) * p * fp.add;  // eq. 10
      e.mul += mm.m * mm.n * p * fp.mul;        // eq. 11
    }
  }
  if (attention) {  // per head: (p x Dh)(Dh x p) and (p x p)(p x Dh), in the activations' float type
    const double H = double(s.n_head), Dh = double(s.q_dim()) / H;
    e.mul += H * 2 * p * p * Dh * fp.mul;
    e.add += H * (p * (Dh - 1) * p + p * (p - 1) * Dh) * fp.add;
  }
  return {e.mul * L * kPj, e.add * L * kPj};
}

uint64_t weight_bytes(const TransformerShape& s, double bits_per_weight, bool tied_embedding) {
  const double linear = double(s.n_linear_params()) * bits_per_weight / 8;
  const double embd = double(s.n_vocab) * double(s.n_embd) * 2 * (tied_embedding ? 1 : 2);
  return uint64_t(linear + embd);
}

uint64_t kv_bytes_per_sequence(const TransformerShape& s, int64_t n_ctx) {
  return uint64_t(2 * s.n_layer * s.kv_dim() * n_ctx * 2);  // K and V, f16
}

int64_t max_batch(uint64_t budget_bytes, uint64_t weights, uint64_t kv_per_sequence) {
  if (budget_bytes <= weights || kv_per_sequence == 0) return 0;
  return int64_t((budget_bytes - weights) / kv_per_sequence);
}

}  // namespace bitlm
