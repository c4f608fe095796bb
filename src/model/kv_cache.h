// model/kv_cache.h — the attention KV cache: per layer, K and V as (n_ctx, Hkv*Dh) row-major,
// one row per position, in `KvCacheType` storage. f16 halves the memory of f32 (2B-4T at 2048
// context: 30 x 2 x 2048 x 640 x 2 B = 157 MB) at no measurable quality cost; a q8/q4 type adds
// an enum value, a store() branch and an attention kernel over its rows.
#pragma once
#include <cstdint>
#include <vector>

#include "core/aligned.h"

namespace bitlm {

enum class KvCacheType { kF16 };

class KvCache {
 public:
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim, KvCacheType type = KvCacheType::kF16);

  KvCacheType type() const { return type_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t kv_dim() const { return kv_dim_; }
  int64_t n_pos() const { return n_pos_; }  // positions [0, n_pos) hold valid rows
  void set_n_pos(int64_t n);                // advance after a batch, or rewind (n <= n_pos)
  void clear() { n_pos_ = 0; }
  uint64_t n_bytes() const { return uint64_t(k_.size() + v_.size()) * sizeof(uint16_t); }

  // Writes the K and V rows (kv_dim floats each) of `layer` at `pos`.
  void store(int64_t layer, int64_t pos, const float* k, const float* v);
  const uint16_t* k_f16(int64_t layer) const { return k_.data() + layer * layer_elems(); }
  const uint16_t* v_f16(int64_t layer) const { return v_.data() + layer * layer_elems(); }

 private:
  int64_t layer_elems() const { return n_ctx_ * kv_dim_; }
  KvCacheType type_;
  int64_t n_layer_, n_ctx_, kv_dim_, n_pos_ = 0;
  AlignedBuffer<uint16_t> k_, v_;
};

}  // namespace bitlm
