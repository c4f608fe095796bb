// tokenizer/pretokenize.cpp — the GPT-2 and Llama-3 splitters. Each alternative of the regex is
// tried in order at the current position, as the regex engine would (leftmost, first alternative
// that matches). Positions past the end have no class at all, which is what ends every run.
#include "tokenizer/pretokenize.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace bitlm {
namespace {

enum : uint8_t { kLetter = 1, kNumber = 2, kSpace = 4 };

class Splitter {
 public:
  Splitter(std::span<const uint32_t> cpts, std::vector<size_t>& ends) : cpts_(cpts), ends_(ends) {
    classes_.resize(cpts.size());
    for (size_t i = 0; i < cpts.size(); ++i) {
      const CodepointClass c = codepoint_class(cpts[i]);
      classes_[i] = uint8_t((c == CodepointClass::kLetter ? kLetter : 0) |
                            (c == CodepointClass::kNumber ? kNumber : 0) | (is_whitespace(cpts[i]) ? kSpace : 0));
    }
  }

  void split_gpt2() {
    for (size_t pos = 0; pos < size();) {
      if (const size_t n = contraction(pos, /*any_case=*/false)) { pos = add(pos + n); continue; }
      const size_t start = pos + (cpt(pos) == ' ');  // the optional leading space of the next three
      if (letter(start)) { pos = add(run_of(start, kLetter)); continue; }
      if (number(start)) { pos = add(run_of(start, kNumber)); continue; }
      if (other(start)) { pos = add(run_of_other(start)); continue; }
      pos = add(whitespace_end(pos));
    }
  }

  void split_llama3() {
    for (size_t pos = 0; pos < size();) {
      const uint32_t c = cpt(pos);
      if (const size_t n = contraction(pos, /*any_case=*/true)) { pos = add(pos + n); continue; }
      // [^\r\n\p{L}\p{N}]?\p{L}+
      if (!(c == '\r' || c == '\n' || number(pos)) && (letter(pos) || letter(pos + 1))) {
        pos = add(run_of(pos + 1, kLetter));
        continue;
      }
      // \p{N}{1,3}
      if (number(pos)) {
        while (number(pos)) pos = add(std::min(run_of(pos, kNumber), pos + 3));
        continue;
      }
      // ' '?[^\s\p{L}\p{N}]+[\r\n]*  (llama.cpp also takes a lone trailing ' ' here: same token)
      const size_t start = pos + (c == ' ');
      if (other(start) || (c == ' ' && start == size())) {
        size_t end = run_of_other(start);
        while (end < size() && (cpt(end) == '\r' || cpt(end) == '\n')) ++end;
        pos = add(end);
        continue;
      }
      // \s*[\r\n]+ : the whitespace run up to its last line break
      size_t last_break = 0;
      for (size_t p = pos; space(p); ++p)
        if (cpt(p) == '\r' || cpt(p) == '\n') last_break = p + 1;
      pos = add(last_break ? last_break : whitespace_end(pos));
    }
  }

 private:
  size_t size() const { return cpts_.size(); }
  uint32_t cpt(size_t p) const { return p < size() ? cpts_[p] : 0xFFFFFFFF; }
  bool has(size_t p, uint8_t cls) const { return p < size() && (classes_[p] & cls); }
  bool letter(size_t p) const { return has(p, kLetter); }
  bool number(size_t p) const { return has(p, kNumber); }
  bool space(size_t p) const { return has(p, kSpace); }
  bool other(size_t p) const { return p < size() && classes_[p] == 0; }  // [^\s\p{L}\p{N}]

  size_t run_of(size_t p, uint8_t cls) const {
    while (has(p, cls)) ++p;
    return p;
  }
  size_t run_of_other(size_t p) const {
    while (other(p)) ++p;
    return p;
  }

  // Length of 's|'t|'re|'ve|'m|'ll|'d at p, or 0. (?i:) folds only ASCII here: no other code point
  // lowercases to one of these letters.
  size_t contraction(size_t p, bool any_case) const {
    if (cpt(p) != '\'' || p + 1 >= size()) return 0;
    const auto fold = [&](uint32_t c) { return any_case && c >= 'A' && c <= 'Z' ? c + 32 : c; };
    const uint32_t a = fold(cpt(p + 1));
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (p + 2 >= size()) return 0;
    const uint32_t b = fold(cpt(p + 2));
    return ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) ? 3 : 0;
  }

  // \s+(?!\S) | \s+ | (no match: one code point). Before a non-space, a run of two or more leaves
  // its last space to start the next word.
  size_t whitespace_end(size_t pos) const {
    const size_t end = run_of(pos, kSpace);
    if (end - pos > 1 && end < size()) return end - 1;
    return end > pos ? end : pos + 1;
  }

  size_t add(size_t end) {  // a zero-length match adds no word
    if (end > prev_end_) ends_.push_back(end);
    prev_end_ = end;
    return end;
  }

  std::span<const uint32_t> cpts_;
  std::vector<size_t>& ends_;
  std::vector<uint8_t> classes_;
  size_t prev_end_ = 0;
};

}  // namespace

void split_words(PreTokenizer kind, std::span<const uint32_t> cpts, std::vector<size_t>& word_ends) {
  Splitter splitter(cpts, word_ends);
  if (kind == PreTokenizer::kGpt2) splitter.split_gpt2();
  else splitter.split_llama3();
}

}  // namespace bitlm
