// serve/text_stream.h — generated token bytes to the text a client may be sent: a stop string
// ends the text before it (OpenAI: "the returned text will not contain the stop sequence"),
// and a streamed chunk never ends inside a UTF-8 character or with the start of a possible stop
// string (both are held back until the next token decides). Pure; one per request.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace bitlm {

class StopScanner {
 public:
  explicit StopScanner(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  // Appends a token's bytes; returns the text now safe to send. Once a stop string completes,
  // stopped() is true and nothing after it is ever returned.
  std::string push(std::string_view piece);
  // At the end of generation: the held-back rest (empty after a stop).
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;  // bytes not yet sent
  bool stopped_ = false;
};

// Bytes at the end of `s` that begin a UTF-8 character not yet complete (0..3).
size_t incomplete_utf8_tail(std::string_view s);

}  // namespace bitlm
