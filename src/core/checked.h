// core/checked.h — overflow-safe size arithmetic for validating untrusted sizes and offsets, and
// float -> int conversions that stay defined for NaN and out-of-range values (a model file may
// hold NaN or weights large enough to overflow; a plain int(x) of those is undefined behaviour).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

namespace bitlm {

inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// Rounds x up to a multiple of `align` (a power of two); nullopt on overflow.
inline std::optional<uint64_t> checked_align_up(uint64_t x, uint64_t align) {
  const auto sum = checked_add(x, align - 1);
  if (!sum) return std::nullopt;
  return *sum & ~(align - 1);
}

// std::clamp(v, lo, hi) for every number; NaN gives lo (std::clamp passes it through). The operand
// order is the point: max(lo, NaN) is lo.
inline float clamp_nan_low(float v, float lo, float hi) { return std::min(std::max(lo, v), hi); }

// int(std::nearbyint(v)) (round half to even) where that is defined; NaN gives 0 and values past
// the int32 range saturate.
inline int32_t nearest_int_saturated(float v) {
  constexpr float kLimit = 2147483520.0f;  // the largest float below 2^31
  if (std::fabs(v) <= kLimit) return int32_t(std::nearbyint(v));
  if (std::isnan(v)) return 0;
  return v > 0 ? INT32_MAX : INT32_MIN;
}

}  // namespace bitlm
