// tests/serve/server_test.cpp — `bitlm serve` over real HTTP on a free loopback port, in process,
// with the bundled TinyStories model: every route, every error of issue 13 (400s with the OpenAI
// error shape, 401, 404, 413, 503 while loading and when the queue is full), streaming parsed
// event by event, a request's output alone vs beside 7 others, a client that disconnects, a
// client that trickles its request, and 1000 connections opened and dropped.
#include "serve/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace bitlm {
namespace {

using json = nlohmann::json;
const std::string kModel = std::string(BITLM_SOURCE_DIR) + "/models/bitnet-tinystories.gguf";

ServerOptions options() {
  ServerOptions o;
  o.model_path = kModel;
  o.port = 0;
  o.n_ctx = 512;
  o.n_parallel = 8;
  o.max_queue = 8;
  o.n_threads = 2;
  o.read_timeout_s = 2;
  o.max_body_bytes = 64 << 10;
  return o;
}

struct Reply {
  int status = 0;
  std::string body;
  json j() const { return json::parse(body); }
};

Reply post(int port, const std::string& path, const std::string& body, const httplib::Headers& headers = {}) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60);
  auto r = c.Post(path.c_str(), headers, body, "application/json");
  return r ? Reply{r->status, r->body} : Reply{-1, httplib::to_string(r.error())};
}

Reply get(int port, const std::string& path, const httplib::Headers& headers = {}) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get(path.c_str(), headers);
  return r ? Reply{r->status, r->body} : Reply{-1, httplib::to_string(r.error())};
}

// The server-sent events of a streamed request, split into their data payloads. stop_after > 0:
// the client hangs up after that many events.
std::vector<std::string> stream(int port, const std::string& path, const std::string& body, int stop_after = 0,
                                int* status = nullptr) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60);
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body;
  req.set_header("Content-Type", "application/json");
  std::string buf;
  std::vector<std::string> events;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    buf.append(data, n);
    for (size_t cut; (cut = buf.find("\n\n")) != std::string::npos;) {
      const std::string event = buf.substr(0, cut);
      buf.erase(0, cut + 2);
      if (event.rfind("data: ", 0) == 0) events.push_back(event.substr(6));
      else EXPECT_EQ(event.rfind(":", 0), 0u) << "not an SSE data or comment line: " << event;
    }
    return stop_after == 0 || int(events.size()) < stop_after;
  };
  auto r = c.send(req);
  if (status) *status = r ? r->status : -1;
  return events;
}

double metric(int port, const std::string& name) {
  const std::string text = get(port, "/metrics").body;
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\n" + name + " ([0-9.e+-]+)\n"))) return -1;
  return std::stod(m[1]);
}

void expect_error(const Reply& r, int status, const std::string& param = "", const std::string& code = "") {
  EXPECT_EQ(r.status, status) << r.body;
  const json j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
  const json& e = j["error"];
  EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty()) << r.body;
  EXPECT_TRUE(e["type"].is_string()) << r.body;
  if (!param.empty()) {
    EXPECT_EQ(e["param"], param) << r.body;
  }
  if (!code.empty()) {
    EXPECT_EQ(e["code"], code) << r.body;
  }
}

// A loaded server on a free port.
struct TestServer {
  explicit TestServer(const ServerOptions& o) : s(o), port(s.start()) { s.load(); }
  Server s;
  int port;
};

class ServerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Server(options());
    port_ = server_->start();
    server_->load();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static Server* server_;
  static int port_;
};
Server* ServerTest::server_ = nullptr;
int ServerTest::port_ = 0;

TEST_F(ServerTest, InfoRoutes) {
  EXPECT_EQ(get(port_, "/health").body, R"({"status":"ok"})");
  const json models = get(port_, "/v1/models").j();
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["id"], "bitnet-tinystories.gguf");
  EXPECT_EQ(models["data"][0]["meta"]["n_ctx"], 512);
  const Reply page = get(port_, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<title>bitlm chat</title>"), std::string::npos);
  EXPECT_EQ(page.body.find("http://"), std::string::npos) << "the page must not load anything from elsewhere";
  const json tokens = post(port_, "/tokenize", R"({"content": "Once upon a time", "add_special": true})").j();
  ASSERT_GE(tokens["tokens"].size(), 2u);
  std::vector<int> ids = tokens["tokens"].get<std::vector<int>>();
  ids.erase(ids.begin());  // BOS
  EXPECT_EQ(post(port_, "/detokenize", json{{"tokens", ids}}.dump()).j()["content"], "Once upon a time");
  const json pieces = post(port_, "/tokenize", R"({"content": "Once", "with_pieces": true})").j();
  EXPECT_EQ(pieces["tokens"][0]["piece"], "Once");
  const std::string metrics = get(port_, "/metrics").body;
  for (const char* name : {"bitlm_requests_total", "bitlm_prompt_tokens_total", "bitlm_generated_tokens_total",
                           "bitlm_requests_queued", "bitlm_slots_busy", "bitlm_decode_tokens_per_second"})
    EXPECT_NE(metrics.find(std::string("# TYPE ") + name), std::string::npos) << name;
}

TEST_F(ServerTest, CompletionHasTheOpenAIShape) {
  const json r = post(port_, "/v1/completions", R"({"prompt": "Once upon a time", "max_tokens": 6, "temperature": 0})").j();
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(r["model"], "bitnet-tinystories.gguf");
  ASSERT_EQ(r["choices"].size(), 1u);
  EXPECT_EQ(r["choices"][0]["index"], 0);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_FALSE(r["choices"][0]["text"].get<std::string>().empty());
  EXPECT_EQ(r["usage"]["completion_tokens"], 6);
  EXPECT_EQ(r["usage"]["prompt_tokens"], 5);  // BOS + 4
  EXPECT_EQ(r["usage"]["total_tokens"], 11);
  // Token ids as the prompt give the same reply.
  const json ids = post(port_, "/tokenize", R"({"content": "Once upon a time", "add_special": true})").j();
  const json r2 = post(port_, "/v1/completions",
                       json{{"prompt", ids["tokens"]}, {"max_tokens", 6}, {"temperature", 0}}.dump()).j();
  EXPECT_EQ(r2["choices"][0]["text"], r["choices"][0]["text"]);
}

TEST_F(ServerTest, ChatStreamEqualsTheWholeReplyEventByEvent) {
  const std::string req = R"({"messages": [{"role": "system", "content": "Tell stories."},
                                           {"role": "user", "content": "A story about a cat"}],
                              "max_tokens": 24, "temperature": 0.9, "seed": 7, "logprobs": true, "top_logprobs": 2)";
  const json whole = post(port_, "/v1/chat/completions", req + "}").j();
  EXPECT_EQ(whole["object"], "chat.completion");
  EXPECT_EQ(whole["choices"][0]["message"]["role"], "assistant");
  const std::string text = whole["choices"][0]["message"]["content"];
  EXPECT_EQ(whole["choices"][0]["logprobs"]["content"].size(), whole["usage"]["completion_tokens"].get<size_t>());
  EXPECT_EQ(whole["choices"][0]["logprobs"]["content"][0]["top_logprobs"].size(), 2u);

  const std::vector<std::string> events =
      stream(port_, "/v1/chat/completions", req + R"(, "stream": true, "stream_options": {"include_usage": true}})");
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string streamed, finish;
  size_t n_logprobs = 0;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const json c = json::parse(events[i]);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    EXPECT_EQ(c["id"], json::parse(events[0])["id"]);
    if (i == 0) {
      EXPECT_EQ(c["choices"][0]["delta"]["role"], "assistant");
    }
    if (c.contains("usage")) {
      EXPECT_EQ(i + 2, events.size()) << "usage comes last, before [DONE]";
      EXPECT_EQ(c["usage"], whole["usage"]);
      EXPECT_TRUE(c["choices"].empty());
      continue;
    }
    const json& ch = c["choices"][0];
    if (ch["delta"].contains("content")) streamed += ch["delta"]["content"].get<std::string>();
    if (ch["logprobs"].is_object()) n_logprobs += ch["logprobs"]["content"].size();
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
  }
  EXPECT_EQ(streamed, text);
  EXPECT_EQ(finish, whole["choices"][0]["finish_reason"]);
  EXPECT_EQ(n_logprobs, whole["usage"]["completion_tokens"].get<size_t>());

  // A completion streams text chunks, a finish chunk, then [DONE].
  const std::vector<std::string> c = stream(port_, "/v1/completions", R"({"prompt": "Once", "max_tokens": 3, "stream": true})");
  ASSERT_GE(c.size(), 3u);
  EXPECT_EQ(c.back(), "[DONE]");
  EXPECT_EQ(json::parse(c[c.size() - 2])["choices"][0]["finish_reason"], "length");
}

TEST_F(ServerTest, StopStringsAreCutFromTheOutput) {
  const std::string base = R"({"prompt": "Once upon a time", "max_tokens": 40, "temperature": 0)";
  const std::string text = post(port_, "/v1/completions", base + "}").j()["choices"][0]["text"];
  const size_t at = text.find(' ', 12);
  ASSERT_NE(at, std::string::npos) << text;
  const std::string stop = text.substr(at, 4);  // a space and 3 more bytes, as tokens may split them
  const json r = post(port_, "/v1/completions", base + R"(, "stop": ["zzzz", ")" + stop + R"("]})").j();
  EXPECT_EQ(r["choices"][0]["text"], text.substr(0, text.find(stop)));
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  std::string streamed;
  for (const std::string& e : stream(port_, "/v1/completions", base + R"(, "stream": true, "stop": ")" + stop + R"("})"))
    if (e != "[DONE]") streamed += json::parse(e)["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(streamed, text.substr(0, text.find(stop)));
}

// Greedy and seeded requests give the same text whether each runs alone or all 8 at once.
TEST_F(ServerTest, BatchingDoesNotChangeWhatARequestGenerates) {
  std::vector<std::string> bodies;
  const char* prompts[] = {"Once upon a time", "The dog", "Lily and Ben went", "One day, a little",
                           "The sun was", "Tom had a big", "In the park", "Mom said"};
  for (int i = 0; i < 8; ++i)
    bodies.push_back(json{{"prompt", prompts[i]}, {"max_tokens", 30 + 3 * i}, {"temperature", i < 4 ? 0.0 : 0.8},
                          {"seed", i}}.dump());
  std::vector<std::string> alone;
  for (const std::string& b : bodies) alone.push_back(post(port_, "/v1/completions", b).body);
  std::vector<std::future<Reply>> together;
  for (const std::string& b : bodies)
    together.push_back(std::async(std::launch::async, [&, b] { return post(port_, "/v1/completions", b); }));
  for (int i = 0; i < 8; ++i) {
    const json a = json::parse(alone[size_t(i)]), t = together[size_t(i)].get().j();
    EXPECT_EQ(t["choices"][0]["text"], a["choices"][0]["text"]) << "request " << i;
    EXPECT_EQ(t["usage"], a["usage"]) << "request " << i;
  }
}

TEST_F(ServerTest, BadRequestsAre4xxWithTheOpenAIErrorBody) {
  expect_error(post(port_, "/v1/completions", "{\"prompt\": "), 400);
  expect_error(post(port_, "/v1/chat/completions", "not json at all"), 400);
  expect_error(post(port_, "/v1/completions", R"({"prompt": "a", "temperature": "warm"})"), 400, "temperature");
  expect_error(post(port_, "/v1/chat/completions", R"({"messages": [{"role": "user", "content": 3}]})"), 400,
               "messages[0].content");
  expect_error(post(port_, "/v1/completions", R"({"prompt": "a", "max_tokens": -3})"), 400, "max_tokens");
  expect_error(post(port_, "/v1/completions", R"({"prompt": [1, 99999]})"), 400, "prompt");
  expect_error(post(port_, "/v1/completions", R"({"prompt": []})"), 400, "prompt");
  expect_error(post(port_, "/detokenize", R"({"tokens": [99999]})"), 400, "tokens");
  std::string long_prompt;
  for (int i = 0; i < 600; ++i) long_prompt += " the cat";
  expect_error(post(port_, "/v1/completions", json{{"prompt", long_prompt}}.dump()), 400, "", "context_length_exceeded");
  expect_error(post(port_, "/v1/completions", "{\"prompt\": \"\xC3\x28 bad UTF-8\"}"), 400);
  expect_error(post(port_, "/v1/nothing", "{}"), 404);
  expect_error(get(port_, "/v2/models"), 404);
  expect_error(post(port_, "/v1/completions", json{{"prompt", std::string(70 << 10, 'a')}}.dump()), 413);
  EXPECT_EQ(get(port_, "/health").status, 200) << "still up after the bad requests";
}

TEST_F(ServerTest, NulBytesAndHugeMaxTokensAreServed) {
  const json r = post(port_, "/v1/completions", R"({"prompt": "a\u0000b\u0000", "max_tokens": 3})").j();
  EXPECT_EQ(r["usage"]["completion_tokens"], 3);
  // max_tokens 10^9: capped by the context (512 positions per slot).
  const json big = post(port_, "/v1/completions", R"({"prompt": "Once", "max_tokens": 1000000000, "ignore_eos": true})").j();
  EXPECT_EQ(big["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(big["usage"]["total_tokens"], 512);
}

TEST(ServerLimits, HealthIs503WhileLoading) {
  Server s(options());
  const int port = s.start();
  expect_error(get(port, "/health"), 503, "", "loading");
  expect_error(post(port, "/v1/completions", R"({"prompt": "a"})"), 503);
  s.load();
  EXPECT_EQ(get(port, "/health").status, 200);
}

TEST(ServerLimits, ApiKey) {
  ServerOptions o = options();
  o.api_key = "sesame";
  TestServer s(o);
  const int port = s.port;
  expect_error(post(port, "/v1/completions", R"({"prompt": "a", "max_tokens": 1})"), 401, "", "invalid_api_key");
  expect_error(get(port, "/v1/models", {{"Authorization", "Bearer wrong"}}), 401);
  EXPECT_EQ(get(port, "/v1/models", {{"Authorization", "Bearer sesame"}}).status, 200);
  EXPECT_EQ(post(port, "/v1/completions", R"({"prompt": "a", "max_tokens": 1})", {{"Authorization", "Bearer sesame"}}).status,
            200);
  EXPECT_EQ(get(port, "/health").status, 200);
}

// One slot, no queue: a second request while the first runs is a 503; with a queue it waits.
TEST(ServerLimits, MoreRequestsThanSlotsQueueThen503) {
  ServerOptions o = options();
  o.n_parallel = 1;
  o.max_queue = 0;
  TestServer s(o);
  const int port = s.port;
  auto first = std::async(std::launch::async, [&] {
    return post(port, "/v1/completions", R"({"prompt": "Once", "max_tokens": 500, "temperature": 0})");
  });
  while (metric(port, "bitlm_slots_busy") < 1 && first.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) {
  }
  expect_error(post(port, "/v1/completions", R"({"prompt": "a", "max_tokens": 1})"), 503, "", "queue_full");
  EXPECT_EQ(first.get().status, 200);
  EXPECT_GE(metric(port, "bitlm_requests_rejected_total"), 1);

  ServerOptions q = options();
  q.n_parallel = 1;
  q.max_queue = 3;
  TestServer s2(q);
  const int port2 = s2.port;
  std::vector<std::future<Reply>> all;
  for (int i = 0; i < 4; ++i)
    all.push_back(std::async(std::launch::async, [&] { return post(port2, "/v1/completions", R"({"prompt": "Once", "max_tokens": 20})"); }));
  for (auto& f : all) EXPECT_EQ(f.get().status, 200);
}

// A streaming client that hangs up: its slot is freed within a step or two, not after max_tokens.
TEST(ServerLimits, ClientThatDisconnectsFreesItsSlot) {
  ServerOptions o = options();
  o.n_parallel = 1;
  TestServer s(o);
  const int port = s.port;
  const double before = metric(port, "bitlm_generated_tokens_total");
  const auto events = stream(port, "/v1/completions", R"({"prompt": "Once", "max_tokens": 500, "stream": true})", 3);
  EXPECT_EQ(events.size(), 3u);
  for (int i = 0; i < 500 && metric(port, "bitlm_slots_busy") > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(metric(port, "bitlm_slots_busy"), 0);
  EXPECT_LT(metric(port, "bitlm_generated_tokens_total") - before, 400) << "the request ran on after its client left";
  EXPECT_EQ(post(port, "/v1/completions", R"({"prompt": "a", "max_tokens": 2})").status, 200);
}

int connect_to(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  return fd;
}

// A client that sends its request a byte at a time and then stalls is cut off by the read
// timeout (2 s here); requests from other clients meanwhile are served at once.
TEST(ServerLimits, SlowClientTimesOutWithoutBlockingOthers) {
  TestServer s(options());
  const int port = s.port;
  const int fd = connect_to(port);
  const std::string partial = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n";
  const auto t0 = std::chrono::steady_clock::now();
  for (char c : partial.substr(0, 20)) {
    ASSERT_EQ(send(fd, &c, 1, MSG_NOSIGNAL), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(post(port, "/v1/completions", R"({"prompt": "Once", "max_tokens": 4})").status, 200);
  char buf[256];
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  const ssize_t n = recv(fd, buf, sizeof(buf), 0);  // the server closes it (0) or answers an error
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(n, 0);
  EXPECT_LT(waited, 9.0) << "the stalled connection was never closed";
  close(fd);
}

TEST(ServerLimits, ThousandConnectionsOpenedAndDropped) {
  TestServer s(options());
  const int port = s.port;
  for (int i = 0; i < 1000; ++i) {
    const int fd = connect_to(port);
    if (i % 3 == 1) send(fd, "POST /v1/completions HTTP/1.1\r\n", 31, MSG_NOSIGNAL);
    if (i % 3 == 2) send(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 33, MSG_NOSIGNAL);
    close(fd);
  }
  EXPECT_EQ(get(port, "/health").status, 200);
  EXPECT_EQ(post(port, "/v1/completions", R"({"prompt": "Once", "max_tokens": 2})").status, 200);
}

}  // namespace
}  // namespace bitlm
