// eval/cost_model.h — the arithmetic-energy model of 003 §2.3 (eq. 10-12, Table 1 per-op
// energies at 7 nm and 45 nm) and the memory arithmetic behind the papers' Tables 4 and 7.
// A matmul of an (m x n) weight with (n x p) activations costs
//   E_add = m (n-1) p Ê_add (eq. 10),  E_mul = m n p Ê_mul (eq. 11)    — FP32 / FP16 weights;
//   E_add = m (n-1) p Ê_add(INT8),     E_mul = (m p + n p) Ê_mul (eq. 12) — 1-bit / 1.58-bit.
// Table 2 also counts the two activation-activation matmuls of attention (Q K^T and A V, p x p per
// head, no causal halving): with them the FP rows match Table 2 within 1 %. A BitNet keeps those in
// FP16 (they have no weights to binarize), which is what the 1-bit rows of Table 2 are made of;
// `attention` = false gives eq. 10-12 over the weight matmuls alone (docs/evaluation.md).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bitlm {

enum class Precision { kFp32, kFp16, kInt8 };

struct OpEnergyPj { double add, mul; };
enum class ProcessNode { k7nm, k45nm };
OpEnergyPj op_energy(Precision p, ProcessNode node);  // 003 Table 1

// The matmul shapes of a decoder: D, F, layers, heads (Dh = D / H unless head_dim is set).
struct TransformerShape {
  std::string name;
  int64_t n_embd = 0, n_ff = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_vocab = 0;
  bool glu = false;  // SwiGLU FFN (gate, up, down) instead of (up, down)
  int64_t q_dim() const { return n_head * (head_dim > 0 ? head_dim : n_embd / n_head); }
  int64_t kv_dim() const { return (n_head_kv > 0 ? n_head_kv : n_head) * (head_dim > 0 ? head_dim : n_embd / n_head); }
  int64_t n_linear_params() const;  // weights of the BitLinear / nn.Linear layers (no embedding)
};

// 003 Table 10 (BitNet b1 scaling): 6.7B, 13B, 30B with FFN = 4 D, V = 50k.
std::span<const TransformerShape> paper_table2_shapes();

enum class WeightKind { kFp32, kFp16, kBitnet };  // kBitnet: 1-bit or 1.58-bit weights, INT8 activations
std::string_view weight_kind_name(WeightKind w);

struct EnergyJ { double mul = 0, add = 0; double total() const { return mul + add; } };

// Energy of one forward over p tokens at `node`.
EnergyJ matmul_energy(const TransformerShape& s, int64_t p, WeightKind w, ProcessNode node,
                      bool attention = true);

// Memory (bytes) for serving: weights at `bits_per_weight` for the linear layers plus an FP16
// embedding/head (as the b1.58 paper keeps it), and the f16 KV cache per sequence.
uint64_t weight_bytes(const TransformerShape& s, double bits_per_weight, bool tied_embedding);
uint64_t kv_bytes_per_sequence(const TransformerShape& s, int64_t n_ctx);
// Table 7: the largest batch whose KV caches fit beside the weights in `budget_bytes` (0 if none).
int64_t max_batch(uint64_t budget_bytes, uint64_t weight_bytes, uint64_t kv_bytes_per_sequence);

}  // namespace bitlm
