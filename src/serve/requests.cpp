// serve/requests.cpp — see requests.h. A JSON null counts as an absent field (clients send null
// for "not set"). Limits follow the OpenAI API reference where it states one.
#include "serve/requests.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "serve/api_error.h"

namespace bitlm {
namespace {

using json = nlohmann::json;

[[noreturn]] void bad(std::string_view param, const std::string& message) {
  throw ApiError(400, message, std::string(param));
}

json parse_object(std::string_view body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number past double's (1e999)
    bad("", fmt::format("the request body is not valid JSON: {}", e.what()));
  }
  if (!j.is_object()) bad("", "the request body must be a JSON object");
  return j;
}

const json* field(const json& o, const char* key) {
  const auto it = o.find(key);
  return it == o.end() || it->is_null() ? nullptr : &*it;
}

std::optional<double> number(const json& o, const char* key, double lo, double hi) {
  const json* v = field(o, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) bad(key, fmt::format("'{}' must be a number", key));
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi)) bad(key, fmt::format("'{}' is {}; it must be in [{}, {}]", key, x, lo, hi));
  return x;
}

// An integer (or a float with an integral value); above `hi` it is clamped when clamp_high, else
// an error. Values beyond int64 (unsigned, or floats like 1e30) count as above hi.
std::optional<int64_t> integer(const json& o, const char* key, int64_t lo, int64_t hi, bool clamp_high = false) {
  const json* v = field(o, key);
  if (!v) return std::nullopt;
  int64_t x = 0;
  bool above = false;
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    above = u > uint64_t(hi);
    x = above ? hi : int64_t(u);
  } else if (v->is_number_integer()) {
    x = v->get<int64_t>();
    above = x > hi;
  } else if (v->is_number_float() && std::isfinite(v->get<double>()) && std::trunc(v->get<double>()) == v->get<double>()) {
    const double d = v->get<double>();
    if (d < double(lo)) bad(key, fmt::format("'{}' is {}; it must be in [{}, {}]", key, v->dump(), lo, hi));
    above = d > double(hi);
    x = d >= double(hi) ? hi : int64_t(d);  // double(hi) may round up to 2^63: never convert that
  } else {
    bad(key, fmt::format("'{}' must be an integer", key));
  }
  if (above && clamp_high) return hi;
  if (above || x < lo) bad(key, fmt::format("'{}' is {}; it must be in [{}, {}]", key, v->dump(), lo, hi));
  return x;
}

std::optional<bool> boolean(const json& o, const char* key) {
  const json* v = field(o, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) bad(key, fmt::format("'{}' must be true or false", key));
  return v->get<bool>();
}

std::vector<std::string> stop_strings(const json& o) {
  const json* v = field(o, "stop");
  std::vector<std::string> out;
  if (!v) return out;
  if (v->is_string()) {
    if (!v->get_ref<const std::string&>().empty()) out.push_back(v->get<std::string>());
    return out;
  }
  if (!v->is_array()) bad("stop", "'stop' must be a string or a list of strings");
  if (v->size() > 16) bad("stop", fmt::format("'stop' has {} strings; at most 16", v->size()));
  for (const json& s : *v) {
    if (!s.is_string()) bad("stop", "'stop' must be a string or a list of strings");
    if (!s.get_ref<const std::string&>().empty()) out.push_back(s.get<std::string>());
  }
  return out;
}

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

GenerationOptions generation_options(const json& o, bool chat) {
  GenerationOptions g;
  SamplerParams& s = g.sampling;
  if (auto n = integer(o, "n", 1, 1)) (void)n;  // only one choice per request
  for (const char* key : {"max_tokens", "max_completion_tokens", "n_predict"})
    if (auto n = integer(o, key, -1, kMaxInt, /*clamp_high=*/true)) g.max_tokens = *n;
  if (auto t = number(o, "temperature", 0, 2)) s.temperature = float(*t);
  if (auto p = number(o, "top_p", 0, 1)) s.top_p = float(*p);
  if (auto k = integer(o, "top_k", 0, std::numeric_limits<int32_t>::max())) s.top_k = int(*k);
  if (auto p = number(o, "min_p", 0, 1)) s.min_p = float(*p);
  if (auto r = number(o, "repeat_penalty", 1e-3, 100)) s.repeat_penalty = float(*r);
  if (auto n = integer(o, "repeat_last_n", 0, 1 << 20)) s.repeat_last_n = int(*n);
  if (auto seed = integer(o, "seed", std::numeric_limits<int64_t>::min(), kMaxInt)) {
    s.seed = uint64_t(*seed);
    g.seed_given = s.seed != kRandomSeed;
  }
  for (const char* key : {"presence_penalty", "frequency_penalty"}) number(o, key, -2, 2);  // accepted, not applied
  g.stop = stop_strings(o);
  g.stream = boolean(o, "stream").value_or(false);
  g.ignore_eos = boolean(o, "ignore_eos").value_or(false);
  if (const json* so = field(o, "stream_options")) {
    if (!so->is_object()) bad("stream_options", "'stream_options' must be an object");
    g.include_usage = boolean(*so, "include_usage").value_or(false);
  }
  if (chat) {
    g.logprobs = boolean(o, "logprobs").value_or(false);
    if (auto n = integer(o, "top_logprobs", 0, 20)) {
      if (!g.logprobs) bad("top_logprobs", "'top_logprobs' needs \"logprobs\": true");
      g.top_logprobs = int(*n);
    }
  } else {
    if (field(o, "logprobs")) bad("logprobs", "'logprobs' is supported on /v1/chat/completions only");
    if (boolean(o, "echo").value_or(false)) bad("echo", "'echo' is not supported");
    if (field(o, "suffix")) bad("suffix", "'suffix' is not supported");
  }
  return g;
}

std::vector<int32_t> token_ids(const json& a, const char* key) {
  std::vector<int32_t> ids;
  ids.reserve(a.size());
  for (const json& t : a) {
    if (!t.is_number_integer()) bad(key, fmt::format("'{}' must be a string or a list of token ids", key));
    const int64_t id = t.is_number_unsigned() && t.get<uint64_t>() > uint64_t(kMaxInt) ? kMaxInt : t.get<int64_t>();
    if (id < 0 || id > std::numeric_limits<int32_t>::max()) bad(key, fmt::format("token id {} is out of range", t.dump()));
    ids.push_back(int32_t(id));
  }
  return ids;
}

std::string message_content(const json& m, size_t i) {
  const auto it = m.find("content");
  const std::string param = fmt::format("messages[{}].content", i);
  if (it == m.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) bad(param, fmt::format("'{}' must be a string or a list of text parts", param));
  std::string text;  // [{"type": "text", "text": "..."}, ...]: the texts joined
  for (const json& part : *it) {
    if (!part.is_object() || part.value("type", json()) != "text" || !part.contains("text") || !part["text"].is_string())
      bad(param, fmt::format("'{}' parts must be {{\"type\": \"text\", \"text\": \"...\"}} (only text is supported)", param));
    text += part["text"].get<std::string>();
  }
  return text;
}

std::vector<ChatMessage> chat_messages(const json& o) {
  const json* ms = field(o, "messages");
  if (!ms) bad("messages", "'messages' is required");
  if (!ms->is_array() || ms->empty()) bad("messages", "'messages' must be a non-empty list of messages");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < ms->size(); ++i) {
    const json& m = (*ms)[i];
    const std::string param = fmt::format("messages[{}]", i);
    if (!m.is_object()) bad(param, fmt::format("'{}' must be an object with a role and a content", param));
    const auto role = m.find("role");
    if (role == m.end() || !role->is_string()) bad(param + ".role", fmt::format("'{}.role' must be a string", param));
    std::string name = role->get<std::string>();
    if (name == "developer") name = "system";
    if (name != "system" && name != "user" && name != "assistant")
      bad(param + ".role", fmt::format("'{}.role' is '{}'; bitlm takes system, user or assistant messages", param,
                                       role->get<std::string>()));
    out.push_back({std::move(name), message_content(m, i)});
  }
  return out;
}

}  // namespace

CompletionRequest parse_completion_request(std::string_view body) {
  const json o = parse_object(body);
  CompletionRequest r;
  const json* p = field(o, "prompt");
  if (!p) bad("prompt", "'prompt' is required");
  if (p->is_string()) {
    r.prompt = p->get<std::string>();
  } else if (p->is_array()) {
    if (p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) {  // a batch of one prompt
      const json& one = (*p)[0];
      if (one.is_string()) r.prompt = one.get<std::string>();
      else r.prompt_tokens = token_ids(one, "prompt"), r.prompt_is_tokens = true;
    } else {
      for (const json& e : *p)
        if (e.is_string() || e.is_array()) bad("prompt", "'prompt' holds several prompts; only one per request (n = 1)");
      r.prompt_tokens = token_ids(*p, "prompt");
      r.prompt_is_tokens = true;
    }
  } else {
    bad("prompt", "'prompt' must be a string or a list of token ids");
  }
  r.gen = generation_options(o, /*chat=*/false);
  return r;
}

ChatRequest parse_chat_request(std::string_view body) {
  const json o = parse_object(body);
  std::vector<ChatMessage> messages = chat_messages(o);
  return {std::move(messages), generation_options(o, /*chat=*/true)};
}

TokenizeRequest parse_tokenize_request(std::string_view body) {
  const json o = parse_object(body);
  TokenizeRequest r;
  const json* c = field(o, "content");
  if (!c || !c->is_string()) bad("content", "'content' must be a string");
  r.content = c->get<std::string>();
  r.add_special = boolean(o, "add_special").value_or(false);
  r.with_pieces = boolean(o, "with_pieces").value_or(false);
  return r;
}

DetokenizeRequest parse_detokenize_request(std::string_view body) {
  const json o = parse_object(body);
  const json* t = field(o, "tokens");
  if (!t || !t->is_array()) bad("tokens", "'tokens' must be a list of token ids");
  return {token_ids(*t, "tokens")};
}

}  // namespace bitlm
