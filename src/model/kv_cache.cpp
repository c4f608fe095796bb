// model/kv_cache.cpp — see kv_cache.h.
#include "model/kv_cache.h"

#include "core/checked.h"
#include "core/error.h"
#include "core/fp16.h"

namespace bitlm {

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim, KvCacheType type)
    : type_(type), n_layer_(n_layer), n_ctx_(n_ctx), kv_dim_(kv_dim) {
  BITLM_ASSERT(n_layer > 0 && n_ctx > 0 && kv_dim > 0);
  const auto n = checked_mul(uint64_t(n_layer), uint64_t(n_ctx));
  const auto elems = n ? checked_mul(*n, uint64_t(kv_dim)) : std::nullopt;
  BITLM_CHECK(elems && *elems < (uint64_t(1) << 40), "KV cache of {} layers x {} positions x {} is too large",
              n_layer, n_ctx, kv_dim);
  // Not zeroed: rows are written before they are read; untouched pages never become resident.
  k_.resize(size_t(*elems), false);
  v_.resize(size_t(*elems), false);
}

void KvCache::set_n_pos(int64_t n) {
  BITLM_ASSERT(n >= 0 && n <= n_ctx_);
  n_pos_ = n;
}

void KvCache::store(int64_t layer, int64_t pos, const float* k, const float* v) {
  BITLM_DASSERT(layer < n_layer_ && pos < n_ctx_);
  uint16_t* kr = k_.data() + layer * layer_elems() + pos * kv_dim_;
  uint16_t* vr = v_.data() + layer * layer_elems() + pos * kv_dim_;
  for (int64_t i = 0; i < kv_dim_; ++i) {
    kr[i] = f32_to_fp16(k[i]);
    vr[i] = f32_to_fp16(v[i]);
  }
}

}  // namespace bitlm
