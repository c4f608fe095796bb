// model/sampler.h — next-token sampling, llama.cpp's chain order: repetition penalty (last N
// tokens) -> top-k -> top-p -> min-p -> temperature -> draw. temperature <= 0 is greedy (argmax
// after the penalty). Deterministic for a given seed.
#pragma once
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "core/rng.h"

namespace bitlm {

struct SamplerParams {
  float temperature = 0.8f;
  int top_k = 40;             // <= 0: off
  float top_p = 0.95f;        // >= 1: off
  float min_p = 0.05f;        // <= 0: off; keeps tokens with p >= min_p * p_max
  float repeat_penalty = 1.0f;  // 1: off; divides positive logits, multiplies negative ones
  int repeat_last_n = 64;
  uint64_t seed = 0;
};

// A seed of -1 (2^64 - 1 as read into uint64) asks for a random one, as llama.cpp's --seed -1 and
// llama-server's "seed": -1 do; the CLI and the server both read it so.
inline constexpr uint64_t kRandomSeed = ~uint64_t(0);

class Sampler {
 public:
  Sampler(const SamplerParams& params, int64_t n_vocab);
  // history: the tokens so far (prompt included); the last repeat_last_n are penalized.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

 private:
  SamplerParams p_;
  Rng rng_;
  std::vector<std::pair<float, int32_t>> cand_;  // (logit, then probability; id), reused
};

}  // namespace bitlm
