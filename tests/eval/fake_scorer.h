// tests/eval/fake_scorer.h — a character-level "tokenizer" (id = byte) and a scorer whose answers
// are a hand-written table keyed by the decoded context and continuation, so expected metrics can
// be computed by hand.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "eval/scorer.h"

namespace bitlm::testing {

inline std::vector<int32_t> char_encode(std::string_view text) {
  return std::vector<int32_t>(text.begin(), text.end());
}

inline std::string char_decode(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += id >= 0 && id < 256 ? char(id) : '#';  // '#' = BOS or another special
  return s;
}

class TableScorer : public Scorer {
 public:
  void set(std::string context, std::string continuation, double logprob, bool greedy = false) {
    table_[{std::move(context), std::move(continuation)}] = {logprob, greedy};
  }
  std::vector<LoglikelihoodResult> score(std::span<const LoglikelihoodRequest> requests) override {
    std::vector<LoglikelihoodResult> out;
    ++n_calls;
    for (const LoglikelihoodRequest& r : requests) {
      const auto it = table_.find({char_decode(r.context), char_decode(r.continuation)});
      if (it == table_.end()) {
        missing.push_back(char_decode(r.context) + "|" + char_decode(r.continuation));
        out.push_back({-1e9, false});
      } else {
        out.push_back(it->second);
      }
    }
    return out;
  }
  std::vector<std::string> missing;
  int n_calls = 0;

 private:
  std::map<std::pair<std::string, std::string>, LoglikelihoodResult> table_;
};

}  // namespace bitlm::testing
