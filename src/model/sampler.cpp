// model/sampler.cpp — see sampler.h.
#include "model/sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace bitlm {

Sampler::Sampler(const SamplerParams& params, int64_t n_vocab) : p_(params), rng_(params.seed) {
  cand_.reserve(size_t(n_vocab));
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const int64_t V = int64_t(logits.size());
  cand_.resize(size_t(V));
  for (int64_t i = 0; i < V; ++i) cand_[size_t(i)] = {logits[size_t(i)], int32_t(i)};
  if (p_.repeat_penalty != 1.0f && p_.repeat_last_n != 0) {
    const size_t n = p_.repeat_last_n < 0 ? history.size()
                                          : std::min(history.size(), size_t(p_.repeat_last_n));
    for (int32_t id : history.subspan(history.size() - n)) {
      if (id < 0 || id >= V) continue;
      float& l = cand_[size_t(id)].first;
      if (l == logits[size_t(id)]) l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;  // once per id
    }
  }
  const auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (p_.temperature <= 0.0f)
    return std::min_element(cand_.begin(), cand_.end(), by_logit)->second;

  size_t n = cand_.size();
  if (p_.top_k > 0 && size_t(p_.top_k) < n) n = size_t(p_.top_k);
  std::partial_sort(cand_.begin(), cand_.begin() + ptrdiff_t(n), cand_.end(), by_logit);
  cand_.resize(n);

  // Probabilities at temperature 1 for the top-p / min-p cuts (llama.cpp's order).
  const float max_l = cand_[0].first;
  double sum = 0;
  for (auto& c : cand_) sum += std::exp(double(c.first - max_l));
  if (p_.top_p < 1.0f) {
    double acc = 0;
    size_t keep = 0;
    while (keep < cand_.size()) {
      acc += std::exp(double(cand_[keep].first - max_l)) / sum;
      ++keep;
      if (acc >= p_.top_p) break;
    }
    cand_.resize(std::max<size_t>(keep, 1));
  }
  if (p_.min_p > 0.0f) {
    const float cut = max_l + std::log(p_.min_p);  // p_i >= min_p * p_max
    size_t keep = 1;
    while (keep < cand_.size() && cand_[keep].first >= cut) ++keep;
    cand_.resize(keep);
  }

  double total = 0;
  for (auto& c : cand_) {
    c.first = float(std::exp(double(c.first - max_l) / p_.temperature));
    total += c.first;
  }
  double r = rng_.uniform() * total;
  for (const auto& c : cand_) {
    r -= c.first;
    if (r < 0) return c.second;
  }
  return cand_.back().second;
}

}  // namespace bitlm
