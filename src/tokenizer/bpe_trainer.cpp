// tokenizer/bpe_trainer.cpp — BPE training over the unique pre-tokenized words of the corpus with their
// counts (a corpus of tens of MB has only ~1e5 distinct words). Pair counts are kept up to date
// incrementally: a merge rewrites only the words that contain its pair (an index pair -> words), and a
// max-heap with lazy deletion finds the next most frequent pair (ties: smallest (left, right) ids).
#include "tokenizer/bpe_trainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <queue>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/unicode.h"

namespace bitlm {
namespace {

using WordCounts = std::unordered_map<std::string, int64_t>;

// Pre-tokenizes `text` (raw bytes) with the Llama-3 splitter and counts each word.
void count_words(std::string_view text, WordCounts& counts) {
  const std::vector<uint32_t> cpts = utf8_to_codepoints(text);
  std::vector<size_t> ends;
  split_words(PreTokenizer::kLlama3, cpts, ends);
  std::string word;
  size_t begin = 0;
  for (size_t end : ends) {
    word.clear();
    for (size_t i = begin; i < end; ++i) append_utf8(cpts[i], word);
    ++counts[word];
    begin = end;
  }
}

// Cuts out the special tokens, then counts in slices that end at a line break (bounded memory).
void count_text(std::string_view text, const std::vector<std::string>& specials, WordCounts& counts) {
  constexpr size_t kSlice = 1 << 20;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = std::min(text.size(), pos + kSlice);
    if (end < text.size()) {
      const size_t nl = text.rfind('\n', end);
      if (nl != std::string_view::npos && nl > pos) end = nl + 1;
    }
    size_t cut = end;  // the first special token inside the slice ends it early
    size_t cut_len = 0;
    for (const std::string& s : specials) {
      const size_t hit = text.substr(0, end).find(s, pos);
      if (hit != std::string_view::npos && hit < cut) { cut = hit; cut_len = s.size(); }
    }
    count_words(text.substr(pos, cut - pos), counts);
    pos = cut + cut_len;
  }
}

constexpr uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

struct Word {
  std::vector<int32_t> syms;
  int64_t count;
};

struct HeapEntry {
  int64_t count;
  uint64_t pair;
  bool operator<(const HeapEntry& o) const { return count < o.count || (count == o.count && pair > o.pair); }
};

class Trainer {
 public:
  explicit Trainer(const WordCounts& counts) {
    std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
    std::sort(sorted.begin(), sorted.end());  // word order fixed: the result is deterministic
    for (auto& [bytes, count] : sorted) {
      Word w{{}, count};
      for (char c : bytes) w.syms.push_back(int32_t(uint8_t(c)));
      words_.push_back(std::move(w));
    }
    for (uint32_t wi = 0; wi < words_.size(); ++wi) add_pairs(wi, +1);
    for (const auto& [pair, count] : pair_counts_) heap_.push({count, pair});
    touched_.clear();
  }

  // The most frequent pair with at least min_count occurrences, or false.
  bool best_pair(int64_t min_count, int32_t& a, int32_t& b) {
    while (!heap_.empty()) {
      const HeapEntry top = heap_.top();
      heap_.pop();
      const auto it = pair_counts_.find(top.pair);
      const int64_t current = it == pair_counts_.end() ? 0 : it->second;
      if (current != top.count) {  // stale: re-queue with the live count
        if (current > 0) heap_.push({current, top.pair});
        continue;
      }
      if (current < min_count) return false;
      a = int32_t(top.pair >> 32);
      b = int32_t(top.pair & 0xFFFFFFFFu);
      return true;
    }
    return false;
  }

  // Replaces every (a, b) by `merged` in the words that hold it, updating the pair counts.
  void merge(int32_t a, int32_t b, int32_t merged) {
    const uint64_t key = pair_key(a, b);
    std::vector<uint32_t> holders = std::move(where_[key]);
    where_.erase(key);
    std::sort(holders.begin(), holders.end());
    holders.erase(std::unique(holders.begin(), holders.end()), holders.end());
    for (uint32_t wi : holders) {
      std::vector<int32_t>& s = words_[wi].syms;
      if (!contains_pair(s, a, b)) continue;
      add_pairs(wi, -1);
      size_t out = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) { s[out++] = merged; ++i; }
        else s[out++] = s[i];
      }
      s.resize(out);
      add_pairs(wi, +1);
    }
    for (uint64_t p : touched_) {
      const auto it = pair_counts_.find(p);
      if (it != pair_counts_.end() && it->second > 0) heap_.push({it->second, p});
    }
    touched_.clear();
  }

 private:
  static bool contains_pair(const std::vector<int32_t>& s, int32_t a, int32_t b) {
    for (size_t i = 0; i + 1 < s.size(); ++i)
      if (s[i] == a && s[i + 1] == b) return true;
    return false;
  }

  void add_pairs(uint32_t wi, int sign) {
    const Word& w = words_[wi];
    for (size_t i = 0; i + 1 < w.syms.size(); ++i) {
      const uint64_t p = pair_key(w.syms[i], w.syms[i + 1]);
      int64_t& c = pair_counts_[p];
      c += sign * w.count;
      if (sign > 0) {
        where_[p].push_back(wi);
        touched_.push_back(p);
      } else if (c == 0) {
        pair_counts_.erase(p);
      }
    }
  }

  std::vector<Word> words_;
  std::unordered_map<uint64_t, int64_t> pair_counts_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where_;  // may hold stale or repeated words
  std::priority_queue<HeapEntry> heap_;
  std::vector<uint64_t> touched_;
};

Vocab train_bpe_counts(const WordCounts& counts, const BpeTrainOptions& o) {
  const int n_special = int(o.special_tokens.size());
  if (o.vocab_size < 256 + n_special)
    throw UserError(fmt::format("vocab size {} is below the 256 byte tokens + {} special tokens", o.vocab_size, n_special));
  Vocab v;
  v.model = "gpt2";
  v.pre = "llama-bpe";
  std::unordered_map<std::string, int32_t> ids;
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(byte_to_unicode(uint8_t(b)));
    ids[v.tokens.back()] = b;
  }
  Trainer trainer(counts);
  int32_t a = 0, b = 0;
  while (int(v.tokens.size()) + n_special < o.vocab_size && trainer.best_pair(o.min_pair_count, a, b)) {
    const std::string& left = v.tokens[size_t(a)];
    const std::string& right = v.tokens[size_t(b)];
    v.merges.push_back(left + " " + right);
    std::string text = left + right;
    auto [it, added] = ids.emplace(text, int32_t(v.tokens.size()));
    if (added) v.tokens.push_back(std::move(text));  // else two merge paths reach one token
    trainer.merge(a, b, it->second);
  }
  v.types.assign(v.tokens.size(), int32_t(TokenType::kNormal));
  for (const std::string& s : o.special_tokens) {
    if (ids.count(s)) throw UserError(fmt::format("special token '{}' is also a learned token", s));
    v.tokens.push_back(s);
    v.types.push_back(int32_t(TokenType::kControl));
  }
  if (n_special > 0) v.bos = v.eos = int32_t(v.tokens.size()) - n_special;
  v.add_bos = n_special > 0;
  v.add_eos = false;
  v.add_space_prefix = false;
  return v;
}

}  // namespace

Vocab train_bpe(std::string_view text, const BpeTrainOptions& o) {
  WordCounts counts;
  count_text(text, o.special_tokens, counts);
  return train_bpe_counts(counts, o);
}

Vocab train_bpe_files(const std::vector<std::string>& paths, const BpeTrainOptions& o) {
  if (paths.empty()) throw UserError("tokenizer training needs at least one input file");
  WordCounts counts;
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError(fmt::format("{}: cannot open", path));
    std::stringstream ss;
    ss << in.rdbuf();
    count_text(ss.str(), o.special_tokens, counts);
  }
  return train_bpe_counts(counts, o);
}

}  // namespace bitlm
