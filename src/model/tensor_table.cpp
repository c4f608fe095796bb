// model/tensor_table.cpp — the tensor tables of tensor_table.h.
#include "model/tensor_table.h"

#include <fmt/format.h>

#include "core/error.h"
#include "model/config.h"

namespace bitlm {
namespace {

using enum TensorRole;

constexpr TensorRow kModelRows[] = {
    {kTokenEmbd, "token_embd.weight"}, {kOutputNorm, "output_norm.weight"}, {kOutput, "output.weight"}};

constexpr TensorRow kBitnetBlock[] = {
    {kAttnNorm, "blk.{}.attn_norm.weight"},   {kAttnQ, "blk.{}.attn_q.weight"},
    {kAttnK, "blk.{}.attn_k.weight"},         {kAttnV, "blk.{}.attn_v.weight"},
    {kAttnSubNorm, "blk.{}.attn_sub_norm.weight"}, {kAttnOutput, "blk.{}.attn_output.weight"},
    {kFfnNorm, "blk.{}.ffn_norm.weight"},     {kFfnGate, "blk.{}.ffn_gate.weight"},
    {kFfnUp, "blk.{}.ffn_up.weight"},         {kFfnSubNorm, "blk.{}.ffn_sub_norm.weight"},
    {kFfnDown, "blk.{}.ffn_down.weight"},
};

constexpr TensorRow kLlamaBlock[] = {
    {kAttnNorm, "blk.{}.attn_norm.weight"}, {kAttnQ, "blk.{}.attn_q.weight"},
    {kAttnK, "blk.{}.attn_k.weight"},       {kAttnV, "blk.{}.attn_v.weight"},
    {kAttnOutput, "blk.{}.attn_output.weight"}, {kFfnNorm, "blk.{}.ffn_norm.weight"},
    {kFfnGate, "blk.{}.ffn_gate.weight"},   {kFfnUp, "blk.{}.ffn_up.weight"},
    {kFfnDown, "blk.{}.ffn_down.weight"},
};

constexpr TensorRow kActScaleRows[] = {
    {kAttnQkvActScale, "blk.{}.attn_qkv.act_scale"},     {kAttnOutputActScale, "blk.{}.attn_output.act_scale"},
    {kFfnGateUpActScale, "blk.{}.ffn_gate_up.act_scale"}, {kFfnDownActScale, "blk.{}.ffn_down.act_scale"},
};

const TensorRow* find(const TensorTable& t, TensorRole role) {
  for (auto rows : {t.model, t.blocks})
    for (const TensorRow& r : rows)
      if (r.role == role) return &r;
  return nullptr;
}

}  // namespace

std::span<const TensorRow> act_scale_rows() { return kActScaleRows; }

TensorRole act_scale_role(TensorRole linear) {
  switch (linear) {
    case kAttnQ: case kAttnK: case kAttnV: return kAttnQkvActScale;
    case kAttnOutput: return kAttnOutputActScale;
    case kFfnGate: case kFfnUp: return kFfnGateUpActScale;
    case kFfnDown: return kFfnDownActScale;
    default: BITLM_ASSERT(!"act_scale_role: not a linear role");
  }
}

std::string act_scale_name(TensorRole role, int64_t block) {
  for (const TensorRow& r : kActScaleRows)
    if (r.role == role) return fmt::format(fmt::runtime(r.gguf), block);
  BITLM_ASSERT(!"act_scale_name: not an activation-scale role");
}

const TensorTable kBitnetTensors = {kModelRows, kBitnetBlock};
const TensorTable kLlamaTensors = {kModelRows, kLlamaBlock};

TensorKind tensor_kind(TensorRole role) {
  switch (role) {
    case kTokenEmbd: return TensorKind::kEmbedding;
    case kOutput: return TensorKind::kHead;
    case kOutputNorm: case kAttnNorm: case kAttnSubNorm: case kFfnNorm: case kFfnSubNorm: return TensorKind::kNorm;
    case kAttnQkvActScale: case kAttnOutputActScale: case kFfnGateUpActScale: case kFfnDownActScale:
      return TensorKind::kActScale;
    default: return TensorKind::kLinear;
  }
}

bool is_block_role(TensorRole role) { return role != kTokenEmbd && role != kOutputNorm && role != kOutput; }

TensorShape tensor_shape(TensorRole role, const ModelConfig& c) {
  const int64_t D = c.n_embd, F = c.n_ff, Q = c.q_dim(), KV = c.kv_dim();
  switch (role) {
    case kTokenEmbd: case kOutput: return {c.n_vocab, D};
    case kOutputNorm: case kAttnNorm: case kFfnNorm: return {1, D};
    case kAttnQ: return {Q, D};
    case kAttnK: case kAttnV: return {KV, D};
    case kAttnSubNorm: return {1, Q};
    case kAttnOutput: return {D, Q};
    case kFfnGate: case kFfnUp: return {F, D};
    case kFfnSubNorm: return {1, F};
    case kFfnDown: return {D, F};
    case kAttnQkvActScale: case kAttnOutputActScale: case kFfnGateUpActScale: case kFfnDownActScale: return {1, 1};
  }
  BITLM_ASSERT(!"tensor_shape: unknown role");
}

bool TensorTable::has(TensorRole role) const { return find(*this, role) != nullptr; }

std::string TensorTable::gguf_name(TensorRole role, int64_t block) const {
  const TensorRow* r = find(*this, role);
  BITLM_ASSERT(r != nullptr && is_block_role(role) == (block >= 0));
  return block >= 0 ? fmt::format(fmt::runtime(r->gguf), block) : std::string(r->gguf);
}

}  // namespace bitlm
