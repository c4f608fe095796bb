// model/kv_cache.cpp — see kv_cache.h.
#include "model/kv_cache.h"

#include <fmt/format.h>

#include <cstring>

#include "core/checked.h"
#include "core/error.h"
#include "core/fp16.h"

namespace bitlm {
int64_t KvCache::row_bytes_for(KvCacheType type, int64_t kv_dim, int64_t head_dim) {
  const int64_t blocks = kv_dim / head_dim * kv_blocks_per_head(int(head_dim));
  switch (type) {
    case KvCacheType::kF16: return kv_dim * int64_t(sizeof(uint16_t));
    case KvCacheType::kQ8: return blocks * int64_t(sizeof(KvBlockQ8));
    case KvCacheType::kQ4: return blocks * int64_t(sizeof(KvBlockQ4));
  }
  BITLM_ASSERT(false);
  return 0;
}

KvCacheType parse_kv_type(std::string_view name) {
  for (KvCacheType t : {KvCacheType::kF16, KvCacheType::kQ8, KvCacheType::kQ4})
    if (name == kv_type_name(t)) return t;
  throw UserError(fmt::format("unknown KV cache type '{}' (expected f16, q8 or q4)", name));
}

std::string_view kv_type_name(KvCacheType type) {
  switch (type) {
    case KvCacheType::kF16: return "f16";
    case KvCacheType::kQ8: return "q8";
    case KvCacheType::kQ4: return "q4";
  }
  return "?";
}

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim, int64_t head_dim, KvCacheType type)
    : type_(type), n_layer_(n_layer), n_ctx_(n_ctx), kv_dim_(kv_dim), head_dim_(head_dim) {
  BITLM_ASSERT(n_layer > 0 && n_ctx > 0 && kv_dim > 0 && head_dim > 0 && kv_dim % head_dim == 0);
  row_bytes_ = row_bytes_for(type, kv_dim, head_dim);
  const auto n = checked_mul(uint64_t(n_layer), uint64_t(n_ctx));
  const auto bytes = n ? checked_mul(*n, uint64_t(row_bytes_)) : std::nullopt;
  BITLM_CHECK(bytes && *bytes < (uint64_t(1) << 41), "KV cache of {} layers x {} positions x {} is too large",
              n_layer, n_ctx, kv_dim);
  // Not zeroed: rows are written before they are read; untouched pages never become resident.
  k_.resize(size_t(*bytes), false);
  v_.resize(size_t(*bytes), false);
}

void KvCache::commit() {
  std::memset(k_.data(), 0, k_.size());
  std::memset(v_.data(), 0, v_.size());
}

void KvCache::set_n_pos(int64_t n) {
  BITLM_ASSERT(n >= 0 && n <= n_ctx_);
  n_pos_ = n;
}

// One head at a time: blocks never straddle two heads.
void KvCache::store_row(const float* x, uint8_t* row) const {
  const int dh = int(head_dim_), bph = kv_blocks_per_head(dh);
  for (int64_t h = 0; h < kv_dim_ / head_dim_; ++h) {
    const float* xh = x + h * head_dim_;
    switch (type_) {
      case KvCacheType::kF16:
        for (int i = 0; i < dh; ++i) reinterpret_cast<uint16_t*>(row)[h * dh + i] = f32_to_fp16(xh[i]);
        break;
      case KvCacheType::kQ8: quantize_kv_q8(xh, dh, reinterpret_cast<KvBlockQ8*>(row) + h * bph); break;
      case KvCacheType::kQ4: quantize_kv_q4(xh, dh, reinterpret_cast<KvBlockQ4*>(row) + h * bph); break;
    }
  }
}

KvHeadView KvCache::head(int64_t layer, int64_t kv_head) const {
  BITLM_DASSERT(layer < n_layer_ && kv_head < kv_dim_ / head_dim_);
  const int64_t bph = kv_blocks_per_head(int(head_dim_)), blocks = kv_dim_ / head_dim_ * bph;
  switch (type_) {
    case KvCacheType::kQ8: return {type_, k_q8(layer) + kv_head * bph, v_q8(layer) + kv_head * bph, blocks};
    case KvCacheType::kQ4: return {type_, k_q4(layer) + kv_head * bph, v_q4(layer) + kv_head * bph, blocks};
    case KvCacheType::kF16: break;
  }
  return {type_, k_f16(layer) + kv_head * head_dim_, v_f16(layer) + kv_head * head_dim_, kv_dim_};
}

void KvCache::store(int64_t layer, int64_t pos, const float* k, const float* v) {
  BITLM_DASSERT(layer < n_layer_ && pos < n_ctx_);
  const int64_t off = (layer * n_ctx_ + pos) * row_bytes_;
  store_row(k, k_.data() + off);
  store_row(v, v_.data() + off);
}

}  // namespace bitlm
