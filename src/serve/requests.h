// serve/requests.h — the request bodies of every route, parsed and validated as pure functions:
// JSON text in, a request struct out, or an ApiError (400, the OpenAI error shape, `param` naming
// the field) for malformed JSON, a wrong type or a value out of range. Fields the OpenAI API
// defines that bitlm does not act on (model, user, presence_penalty, frequency_penalty, ...) are
// ignored as llama-server ignores them; a field that would change the answer in a way bitlm
// cannot honour (n > 1, echo, completion logprobs) is a 400, never silently dropped.
// These are the entry points the fuzz targets drive (tests/fuzz/).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/sampler.h"
#include "tokenizer/chat_template.h"

namespace bitlm {

// The sampling and stopping fields shared by /v1/completions and /v1/chat/completions.
struct GenerationOptions {
  SamplerParams sampling;     // temperature, top_p, top_k, min_p, repeat_penalty, seed
  bool seed_given = false;    // no "seed": the server draws one
  int64_t max_tokens = -1;    // max_tokens / max_completion_tokens / n_predict; -1: until the context is full
  std::vector<std::string> stop;  // cut from the output; empty strings dropped
  bool ignore_eos = false;     // llama-server's extra: generate past end-of-generation tokens (benchmarks)
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with usage
  bool logprobs = false;       // chat only
  int top_logprobs = 0;        // 0..20, with logprobs
};

struct CompletionRequest {
  std::string prompt;                 // "prompt": a string (or a list of one string)
  std::vector<int32_t> prompt_tokens;  // "prompt": token ids (or a list of one list); ids checked later
  bool prompt_is_tokens = false;
  GenerationOptions gen;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;  // roles system | user | assistant ("developer" read as system)
  GenerationOptions gen;
};

struct TokenizeRequest {   // POST /tokenize, llama-server's shape
  std::string content;
  bool add_special = false;  // prepend BOS as the model does
  bool with_pieces = false;  // {"id", "piece"} objects instead of bare ids
};

struct DetokenizeRequest {  // POST /detokenize
  std::vector<int32_t> tokens;
};

CompletionRequest parse_completion_request(std::string_view body);
ChatRequest parse_chat_request(std::string_view body);
TokenizeRequest parse_tokenize_request(std::string_view body);
DetokenizeRequest parse_detokenize_request(std::string_view body);

}  // namespace bitlm
