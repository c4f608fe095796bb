// tests/serve/requests_test.cpp — the request parsers: the OpenAI fields arrive in their structs;
// malformed JSON, wrong types and out-of-range values are ApiError 400 naming the field.
#include "serve/requests.h"

#include <gtest/gtest.h>

#include "serve/api_error.h"

namespace bitlm {
namespace {

// The ApiError a body raises: its status and param ("" if none was raised).
std::pair<int, std::string> error_of(std::string_view body, bool chat) {
  try {
    if (chat) parse_chat_request(body);
    else parse_completion_request(body);
  } catch (const ApiError& e) {
    return {e.status(), std::string(e.param())};
  }
  return {0, ""};
}

TEST(Requests, CompletionFields) {
  const CompletionRequest r = parse_completion_request(
      R"({"model": "x", "prompt": "Once", "max_tokens": 7, "temperature": 0, "top_p": 0.5, "top_k": 3,
          "min_p": 0.1, "repeat_penalty": 1.1, "seed": 42, "stop": ["\n", "", "The"], "stream": true,
          "stream_options": {"include_usage": true}, "user": "ignored", "presence_penalty": 0})");
  EXPECT_EQ(r.prompt, "Once");
  EXPECT_FALSE(r.prompt_is_tokens);
  EXPECT_EQ(r.gen.max_tokens, 7);
  EXPECT_EQ(r.gen.sampling.temperature, 0.0f);
  EXPECT_EQ(r.gen.sampling.top_p, 0.5f);
  EXPECT_EQ(r.gen.sampling.top_k, 3);
  EXPECT_FLOAT_EQ(r.gen.sampling.min_p, 0.1f);
  EXPECT_FLOAT_EQ(r.gen.sampling.repeat_penalty, 1.1f);
  EXPECT_EQ(r.gen.sampling.seed, 42u);
  EXPECT_TRUE(r.gen.seed_given);
  EXPECT_EQ(r.gen.stop, (std::vector<std::string>{"\n", "The"}));
  EXPECT_TRUE(r.gen.stream);
  EXPECT_TRUE(r.gen.include_usage);

  const CompletionRequest t = parse_completion_request(R"({"prompt": [1, 2, 3], "stop": "x", "seed": null})");
  EXPECT_TRUE(t.prompt_is_tokens);
  EXPECT_EQ(t.prompt_tokens, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(t.gen.stop, std::vector<std::string>{"x"});
  EXPECT_FALSE(t.gen.seed_given);
  EXPECT_EQ(t.gen.max_tokens, -1);
  EXPECT_FALSE(parse_completion_request(R"({"prompt": "a", "seed": -1})").gen.seed_given);  // llama-server's "random"
  EXPECT_TRUE(parse_completion_request(R"({"prompt": "a", "seed": -2})").gen.seed_given);
  EXPECT_EQ(parse_completion_request(R"({"prompt": ["one"]})").prompt, "one");
  EXPECT_EQ(parse_completion_request(R"({"prompt": [[5, 6]]})").prompt_tokens, (std::vector<int32_t>{5, 6}));
  // 10^9 and beyond are taken (the engine caps them by the context), not refused.
  EXPECT_EQ(parse_completion_request(R"({"prompt": "a", "max_tokens": 1000000000})").gen.max_tokens, 1000000000);
  EXPECT_EQ(parse_completion_request(R"({"prompt": "a", "max_tokens": 1e30})").gen.max_tokens, INT64_MAX);
  EXPECT_EQ(parse_completion_request(R"({"prompt": "a", "max_tokens": 18446744073709551615})").gen.max_tokens,
            INT64_MAX);
}

TEST(Requests, ChatFields) {
  const ChatRequest r = parse_chat_request(
      R"({"messages": [{"role": "developer", "content": "Be brief."},
                       {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
                       {"role": "assistant", "content": null}],
          "max_completion_tokens": 5, "logprobs": true, "top_logprobs": 3})");
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "Hi there");
  EXPECT_EQ(r.messages[2].content, "");
  EXPECT_EQ(r.gen.max_tokens, 5);
  EXPECT_TRUE(r.gen.logprobs);
  EXPECT_EQ(r.gen.top_logprobs, 3);
  // NUL bytes and any other code point survive parsing.
  const ChatRequest nul = parse_chat_request(R"({"messages": [{"role": "user", "content": "a\u0000b\ud83e\udd99"}]})");
  EXPECT_EQ(nul.messages[0].content, std::string("a\0b\xF0\x9F\xA6\x99", 7));
}

TEST(Requests, BadBodiesAre400NamingTheField) {
  using P = std::pair<int, std::string>;
  EXPECT_EQ(error_of("", false), P(400, ""));
  EXPECT_EQ(error_of("{\"prompt\": ", false), P(400, ""));
  EXPECT_EQ(error_of("[1, 2]", false), P(400, ""));
  EXPECT_EQ(error_of("{\"prompt\": \"\xff\xfe\"}", false), P(400, ""));  // not UTF-8: nlohmann refuses it
  EXPECT_EQ(error_of("{}", false), P(400, "prompt"));
  EXPECT_EQ(error_of(R"({"prompt": 5})", false), P(400, "prompt"));
  EXPECT_EQ(error_of(R"({"prompt": ["a", "b"]})", false), P(400, "prompt"));
  EXPECT_EQ(error_of(R"({"prompt": [1, -2]})", false), P(400, "prompt"));
  EXPECT_EQ(error_of(R"({"prompt": [1, 1.5]})", false), P(400, "prompt"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "temperature": "hot"})", false), P(400, "temperature"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "temperature": 2.5})", false), P(400, "temperature"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "top_p": -0.1})", false), P(400, "top_p"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "top_k": 1.5})", false), P(400, "top_k"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "max_tokens": -5})", false), P(400, "max_tokens"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "max_tokens": "10"})", false), P(400, "max_tokens"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "n": 2})", false), P(400, "n"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "stop": 3})", false), P(400, "stop"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "stop": ["a", 3]})", false), P(400, "stop"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "stream": "yes"})", false), P(400, "stream"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "seed": 1.5})", false), P(400, "seed"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "logprobs": 2})", false), P(400, "logprobs"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "echo": true})", false), P(400, "echo"));
  EXPECT_EQ(error_of(R"({"prompt": "a", "repeat_penalty": 0})", false), P(400, "repeat_penalty"));
  EXPECT_EQ(error_of(R"({"messages": []})", true), P(400, "messages"));
  EXPECT_EQ(error_of(R"({"messages": "hi"})", true), P(400, "messages"));
  EXPECT_EQ(error_of(R"({"messages": [3]})", true), P(400, "messages[0]"));
  EXPECT_EQ(error_of(R"({"messages": [{"content": "x"}]})", true), P(400, "messages[0].role"));
  EXPECT_EQ(error_of(R"({"messages": [{"role": "tool", "content": "x"}]})", true), P(400, "messages[0].role"));
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": 5}]})", true), P(400, "messages[0].content"));
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", true),
            P(400, "messages[0].content"));
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})", true),
            P(400, "top_logprobs"));
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 21})", true),
            P(400, "top_logprobs"));
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "x"}], "stream_options": 1})", true),
            P(400, "stream_options"));
}

TEST(Requests, DeeplyNestedJsonIsAnErrorNotACrash) {
  const std::string deep = "{\"prompt\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(error_of(deep, false).first, 400);
}

// requests_fuzz: nlohmann throws out_of_range, not parse_error, for a number past double's range;
// it escaped the parser (a 500 and 'internal error' instead of a 400). Input: tests/data/fuzz/requests/.
TEST(Requests, NumberPastDoublesRangeIs400) {
  EXPECT_EQ(error_of(R"({"prompt": [[1e999]]})", false), std::make_pair(400, std::string()));
  EXPECT_EQ(error_of(R"({"messages": [], "temperature": -1e400})", true), std::make_pair(400, std::string()));
}

TEST(Requests, TokenizeAndDetokenize) {
  const TokenizeRequest t = parse_tokenize_request(R"({"content": "hi", "add_special": true, "with_pieces": true})");
  EXPECT_EQ(t.content, "hi");
  EXPECT_TRUE(t.add_special);
  EXPECT_TRUE(t.with_pieces);
  EXPECT_EQ(parse_detokenize_request(R"({"tokens": [3, 4]})").tokens, (std::vector<int32_t>{3, 4}));
  EXPECT_THROW(parse_tokenize_request(R"({"content": 3})"), ApiError);
  EXPECT_THROW(parse_detokenize_request(R"({"tokens": ["a"]})"), ApiError);
  EXPECT_THROW(parse_detokenize_request(R"({"tokens": [4294967296]})"), ApiError);
}

TEST(Requests, ErrorBodyHasTheOpenAIShape) {
  EXPECT_EQ(error_body(ApiError(400, "bad \xff", "top_p", "x")),
            "{\"error\":{\"code\":\"x\",\"message\":\"bad \xEF\xBF\xBD\",\"param\":\"top_p\",\"type\":"
            "\"invalid_request_error\"}}");
  EXPECT_EQ(error_body(503, "busy"),
            "{\"error\":{\"code\":null,\"message\":\"busy\",\"param\":null,\"type\":\"unavailable_error\"}}");
}

}  // namespace
}  // namespace bitlm
