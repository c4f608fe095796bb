// serve/text_stream.cpp — see text_stream.h.
#include "serve/text_stream.h"

#include <algorithm>

namespace bitlm {

size_t incomplete_utf8_tail(std::string_view s) {
  for (size_t back = 1; back <= std::min<size_t>(4, s.size()); ++back) {
    const auto c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back && c < 0xF8 ? back : 0;  // (0xF8.. and stray continuations are invalid: send them)
  }
  return 0;
}

std::string StopScanner::push(std::string_view piece) {
  if (stopped_) return {};
  pending_ += piece;
  size_t first = std::string::npos;
  for (const std::string& s : stops_) first = std::min(first, pending_.find(s));
  if (first != std::string::npos) {  // a stop never straddles sent text: its start was held back
    std::string out = pending_.substr(0, first);
    pending_.clear();
    stopped_ = true;
    return out;
  }
  size_t hold = incomplete_utf8_tail(pending_);
  for (const std::string& s : stops_)  // the longest tail that begins a stop string
    for (size_t k = std::min(s.size() - 1, pending_.size()); k > hold; --k)
      if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopScanner::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace bitlm
