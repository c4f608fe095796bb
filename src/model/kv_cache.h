// model/kv_cache.h — the attention KV cache: per layer, K and V as (n_ctx, row) row-major, one
// row per position holding all Hkv KV heads, in `KvCacheType` storage:
//   f16: Hkv*Dh IEEE halves (2 B/value). Halves the memory of f32 (2B-4T at 2048 context:
//        30 x 2 x 2048 x 640 x 2 B = 157 MB) at no measurable quality cost.
//   q8:  per head, ceil(Dh/32) KvBlockQ8 (ops/attention_quant.h: f16 scale + 32 int8, 1.0625 B/value)
//   q4:  per head, ceil(Dh/32) KvBlockQ4 (f16 scale + 32 nibbles, 0.5625 B/value)
// q8/q4 follow 003 §4.2 (symmetric absmax per head, "losslessly" to 4 bits, Table 6) with one
// scale per 32 values; rows are quantized once, in store().
#pragma once
#include <cstdint>
#include <string_view>

#include "core/aligned.h"
#include "core/error.h"
#include "ops/attention.h"
#include "ops/attention_quant.h"

namespace bitlm {

// "f16" | "q8" | "q4"; throws UserError naming the accepted values.
KvCacheType parse_kv_type(std::string_view name);
std::string_view kv_type_name(KvCacheType type);

class KvCache {
 public:
  // head_dim: the cache quantizes per KV head (kv_dim / head_dim heads).
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim, int64_t head_dim, KvCacheType type = KvCacheType::kF16);

  KvCacheType type() const { return type_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t kv_dim() const { return kv_dim_; }
  int64_t n_pos() const { return n_pos_; }  // positions [0, n_pos) hold valid rows
  void set_n_pos(int64_t n);                // advance after a batch, or rewind (n <= n_pos)
  void clear() { n_pos_ = 0; }
  // Writes every byte once (zeros), so that all the cache's pages are resident now rather than as
  // its sequence grows: a server's full-load memory, taken at start-up (serve --kv-commit).
  void commit();
  uint64_t n_bytes() const { return uint64_t(2 * n_layer_ * n_ctx_ * row_bytes_); }
  int64_t row_bytes() const { return row_bytes_; }  // one position's K (or V) row of one layer
  static int64_t row_bytes_for(KvCacheType type, int64_t kv_dim, int64_t head_dim);

  // Writes the K and V rows (kv_dim floats each) of `layer` at `pos`.
  void store(int64_t layer, int64_t pos, const float* k, const float* v);
  // A layer's first row in the cache's type (the accessor must match type()).
  const uint16_t* k_f16(int64_t layer) const { return rows<uint16_t>(k_, layer, KvCacheType::kF16); }
  const uint16_t* v_f16(int64_t layer) const { return rows<uint16_t>(v_, layer, KvCacheType::kF16); }
  const KvBlockQ8* k_q8(int64_t layer) const { return rows<KvBlockQ8>(k_, layer, KvCacheType::kQ8); }
  const KvBlockQ8* v_q8(int64_t layer) const { return rows<KvBlockQ8>(v_, layer, KvCacheType::kQ8); }
  const KvBlockQ4* k_q4(int64_t layer) const { return rows<KvBlockQ4>(k_, layer, KvCacheType::kQ4); }
  const KvBlockQ4* v_q4(int64_t layer) const { return rows<KvBlockQ4>(v_, layer, KvCacheType::kQ4); }
  // KV head `kv_head` of `layer`, for ops/attention.h's attention_head.
  KvHeadView head(int64_t layer, int64_t kv_head) const;

 private:
  template <typename T>
  const T* rows(const AlignedBuffer<uint8_t>& b, int64_t layer, KvCacheType want) const {
    BITLM_ASSERT(type_ == want);
    return reinterpret_cast<const T*>(b.data() + layer * n_ctx_ * row_bytes_);
  }
  void store_row(const float* x, uint8_t* row) const;
  KvCacheType type_;
  int64_t n_layer_, n_ctx_, kv_dim_, head_dim_, row_bytes_, n_pos_ = 0;
  AlignedBuffer<uint8_t> k_, v_;
};

}  // namespace bitlm
