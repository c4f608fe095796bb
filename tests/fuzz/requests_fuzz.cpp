// tests/fuzz/requests_fuzz.cpp — the server's request bodies (serve/requests.h, the functions the
// HTTP handlers call) on arbitrary bytes: byte 0 picks the route (/v1/completions,
// /v1/chat/completions, /tokenize, /detokenize), the rest is the body. Only an ApiError (a 4xx
// answer) may come out; a request that parses holds values inside their documented ranges.
#include <string_view>

#include "fuzz_util.h"
#include "serve/api_error.h"
#include "serve/requests.h"

namespace {

void check(const bitlm::GenerationOptions& g) {
  FUZZ_CHECK(g.max_tokens >= -1);
  FUZZ_CHECK(g.top_logprobs >= 0 && g.top_logprobs <= 20);
  for (const auto& s : g.stop) FUZZ_CHECK(!s.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bitlm;
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    switch (data[0] & 3) {
      case 0: check(parse_completion_request(body).gen); break;
      case 1: {
        const ChatRequest r = parse_chat_request(body);
        check(r.gen);
        for (const auto& m : r.messages) FUZZ_CHECK(m.role == "system" || m.role == "user" || m.role == "assistant");
        break;
      }
      case 2: (void)parse_tokenize_request(body); break;
      case 3: (void)parse_detokenize_request(body); break;
    }
  } catch (const ApiError& e) {
    FUZZ_CHECK(e.status() >= 400 && e.status() < 500);
  }
  return 0;
}
