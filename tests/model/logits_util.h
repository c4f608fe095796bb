// tests/model/logits_util.h — helpers shared by the model tests.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "model/forward.h"
#include "model/model.h"

namespace bitlm::test {

// Every position's logits of one eval of `tokens` (2 threads, context 64), concatenated.
inline std::vector<float> all_logits(const Model& model, std::span<const int32_t> tokens) {
  ThreadPool pool(2);
  Forward fwd(model, 64, pool);
  fwd.eval(tokens, /*all_logits=*/true);
  std::vector<float> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto row = fwd.logits(int64_t(i));
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}

}  // namespace bitlm::test
