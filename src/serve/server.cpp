// serve/server.cpp — see server.h. HTTP threads parse and validate, tokenize, submit to the
// BatchEngine and wait on their request's stream; only the engine's thread runs the model.
#include "serve/server.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/sys.h"
#include "model/model.h"
#include "serve/api_error.h"
#include "serve/engine.h"
#include "serve/requests.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace bitlm {
namespace {

using json = nlohmann::json;

// Generated text may end inside a UTF-8 character (max_tokens, a stop): never throw on dump.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string random_id(std::string_view prefix) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{}{:016x}{:08x}", prefix, rng(), uint32_t(rng()));
}

json bytes_of(std::string_view s) {
  json b = json::array();
  for (char c : s) b.push_back(int(static_cast<unsigned char>(c)));
  return b;
}

json logprobs_json(const std::vector<TokenLogprob>& lps) {
  json content = json::array();
  for (const TokenLogprob& lp : lps) {
    json top = json::array();
    for (const auto& [token, logprob] : lp.top)
      top.push_back({{"token", token}, {"logprob", logprob}, {"bytes", bytes_of(token)}});
    content.push_back({{"token", lp.token}, {"logprob", lp.logprob}, {"bytes", bytes_of(lp.token)}, {"top_logprobs", top}});
  }
  return {{"content", content}};
}

json usage_json(const GenerationEvent& e) {
  return {{"prompt_tokens", e.n_prompt}, {"completion_tokens", e.n_generated},
          {"total_tokens", e.n_prompt + e.n_generated}};
}

// llama-server's extra "timings" object: the chat page shows the speed from it.
json timings_json(const GenerationEvent& e) {
  const double per_s = e.generate_ms > 0 && e.n_generated > 1 ? (e.n_generated - 1) * 1e3 / e.generate_ms : 0;
  return {{"prompt_n", e.n_prompt}, {"prompt_ms", e.prompt_ms}, {"predicted_n", e.n_generated},
          {"predicted_ms", e.generate_ms}, {"predicted_per_second", per_s}};
}

void send_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status(), error_body(e)); }

struct RouteCounters {
  std::mutex mu;
  std::map<std::string, uint64_t> requests;  // by route
  void count(const std::string& route) {
    std::lock_guard lk(mu);
    ++requests[route];
  }
};

}  // namespace

struct Server::Impl {
  ServerOptions opt;
  httplib::Server http;
  std::thread http_thread;
  int port = 0;
  std::atomic<bool> ready{false};
  std::atomic<bool> listen_returned{false};  // the HTTP thread's listen_after_bind returned
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<BatchEngine> engine;
  ChatFamily family = ChatFamily::kPlain;
  std::string model_id;
  std::time_t created = std::time(nullptr);
  RouteCounters counters;
  std::once_flag stopped;

  void routes();
  bool authorized(const httplib::Request& req) const;
  void completion(const httplib::Request& req, httplib::Response& res, bool chat);
  void respond(const httplib::Request& req, httplib::Response& res, bool chat, const std::string& id,
               std::shared_ptr<GenerationStream> stream, const GenerationOptions& gen);
  std::string metrics();
};

bool Server::Impl::authorized(const httplib::Request& req) const {
  if (opt.api_key.empty() || req.path == "/" || req.path == "/health") return true;
  return req.get_header_value("Authorization") == "Bearer " + opt.api_key;
}

void Server::Impl::routes() {
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req)) {
      send_error(res, ApiError(401, "a valid API key is needed: send the header 'Authorization: Bearer <key>'", "",
                               "invalid_api_key"));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!ready.load() && req.path != "/" && req.path != "/health") {
      send_error(res, ApiError(503, "the model is loading", "", "loading"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Statuses httplib sets itself (404 no route, 413 body too large, 400 bad request line) get
  // the OpenAI error body too.
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string msg = res.status == 404   ? fmt::format("no route {} {}", req.method, req.path)
                            : res.status == 413 ? std::string("the request body is too large")
                                                : fmt::format("HTTP {}", res.status);
    send_json(res, res.status, error_body(res.status, msg));
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const ApiError& e) {
      send_error(res, e);
    } catch (const UserError& e) {
      send_error(res, ApiError(400, e.what()));
    } catch (const std::exception& e) {
      send_json(res, 500, error_body(500, fmt::format("internal error: {}", e.what())));
    } catch (...) {
      send_json(res, 500, error_body(500, "internal error"));
    }
  });

  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(chat_page_html()), "text/html; charset=utf-8");
  });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (ready.load()) send_json(res, 200, R"({"status":"ok"})");
    else send_error(res, ApiError(503, "the model is loading", "", "loading"));
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    counters.count("/v1/models");
    const json m = {{"id", model_id},
                    {"object", "model"},
                    {"created", created},
                    {"owned_by", "bitlm"},
                    {"meta", {{"n_ctx", engine->n_ctx()}, {"n_vocab", tok->n_vocab()},
                              {"chat_template", chat_family_name(family)}, {"n_parallel", opt.n_parallel}}}};
    send_json(res, 200, dump({{"object", "list"}, {"data", json::array({m})}}));
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics(), "text/plain; version=0.0.4");
  });
  http.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) {
    counters.count("/tokenize");
    const TokenizeRequest r = parse_tokenize_request(req.body);
    const std::vector<int32_t> ids = tok->encode(r.content, r.add_special, /*parse_special=*/true);
    json tokens = json::array();
    for (int32_t id : ids) {
      if (r.with_pieces) tokens.push_back({{"id", id}, {"piece", tok->token_bytes(id)}});
      else tokens.push_back(id);
    }
    send_json(res, 200, dump({{"tokens", tokens}}));
  });
  http.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) {
    counters.count("/detokenize");
    const DetokenizeRequest r = parse_detokenize_request(req.body);
    for (int32_t id : r.tokens)
      if (id >= tok->n_vocab())
        throw ApiError(400, fmt::format("token id {} is outside the vocabulary [0, {})", id, tok->n_vocab()), "tokens");
    send_json(res, 200, dump({{"content", tok->decode(r.tokens)}}));
  });
  http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    counters.count("/v1/completions");
    completion(req, res, false);
  });
  http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    counters.count("/v1/chat/completions");
    completion(req, res, true);
  });
}

void Server::Impl::completion(const httplib::Request& req, httplib::Response& res, bool chat) {
  GenerationJob job;
  if (chat) {
    ChatRequest r = parse_chat_request(req.body);
    job.gen = std::move(r.gen);
    job.prompt = tok->encode(render_chat(family, r.messages), /*add_bos=*/true, /*parse_special=*/true);
    if (const std::string_view stop = plain_stop(family); !stop.empty()) job.gen.stop.emplace_back(stop);
  } else {
    CompletionRequest r = parse_completion_request(req.body);
    job.gen = std::move(r.gen);
    job.prompt = r.prompt_is_tokens ? std::move(r.prompt_tokens) : tok->encode(r.prompt, true, true);
  }
  if (!job.gen.seed_given) job.gen.sampling.seed = std::random_device{}() * 0x9E3779B97F4A7C15ull ^ uint64_t(now_seconds() * 1e9);
  const GenerationOptions gen = job.gen;
  respond(req, res, chat, random_id(chat ? "chatcmpl-" : "cmpl-"), engine->submit(std::move(job)), gen);
}

void Server::Impl::respond(const httplib::Request&, httplib::Response& res, bool chat, const std::string& id,
                           std::shared_ptr<GenerationStream> stream, const GenerationOptions& gen) {
  const json head = {{"id", id}, {"object", chat ? "chat.completion" : "text_completion"}, {"created", std::time(nullptr)},
                     {"model", model_id}};
  if (!gen.stream) {
    GenerationEvent all, e;
    do {
      while (!stream->wait(e, 1.0)) {
      }
      all.text += e.text;
      for (TokenLogprob& lp : e.logprobs) all.logprobs.push_back(std::move(lp));
    } while (e.finish == FinishReason::kNone);
    if (e.finish == FinishReason::kCancelled) throw ApiError(503, "the server is shutting down");
    if (e.finish == FinishReason::kError) throw ApiError(500, e.error);
    json choice = {{"index", 0}, {"finish_reason", finish_reason_name(e.finish)}};
    if (chat) {
      choice["message"] = {{"role", "assistant"}, {"content", all.text}};
      choice["logprobs"] = gen.logprobs ? logprobs_json(all.logprobs) : json(nullptr);
    } else {
      choice["text"] = all.text;
      choice["logprobs"] = nullptr;
    }
    json body = head;
    body["choices"] = json::array({choice});
    body["usage"] = usage_json(e);
    body["timings"] = timings_json(e);
    return send_json(res, 200, dump(body));
  }

  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto chunk = std::make_shared<json>(head);
  (*chunk)["object"] = chat ? "chat.completion.chunk" : "text_completion";
  auto first = std::make_shared<bool>(true);
  res.set_chunked_content_provider(
      "text/event-stream",
      [stream, chunk, first, chat, gen](size_t, httplib::DataSink& sink) {
        const auto send = [&](const json& j) {
          const std::string line = "data: " + dump(j) + "\n\n";
          return sink.write(line.data(), line.size());
        };
        GenerationEvent e;
        if (!stream->wait(e, 1.0)) {  // nothing yet (queued, or a long prompt): probe the client
          static constexpr char kPing[] = ": ping\n\n";
          return sink.write(kPing, sizeof(kPing) - 1);
        }
        if (e.finish == FinishReason::kCancelled || e.finish == FinishReason::kError) {
          const std::string msg = e.finish == FinishReason::kError ? e.error : "the server is shutting down";
          const std::string line = "data: " + error_body(e.finish == FinishReason::kError ? 500 : 503, msg) + "\n\n";
          sink.write(line.data(), line.size());
          sink.done();
          return true;
        }
        const bool last = e.finish != FinishReason::kNone;
        if (!e.text.empty() || !e.logprobs.empty() || (chat && *first)) {  // held-back bytes send nothing
          json choice = {{"index", 0}, {"finish_reason", nullptr}};
          if (chat) {
            json delta = json::object();
            if (*first) delta["role"] = "assistant";
            delta["content"] = e.text;
            choice["delta"] = delta;
            choice["logprobs"] = gen.logprobs && !e.logprobs.empty() ? logprobs_json(e.logprobs) : json(nullptr);
          } else {
            choice["text"] = e.text;
            choice["logprobs"] = nullptr;
          }
          json c = *chunk;
          c["choices"] = json::array({choice});
          if (!send(c)) return false;
          *first = false;
        }
        if (!last) return true;
        json fin = *chunk;  // the finish chunk: empty delta / text, the reason, llama-server's timings
        fin["choices"] = json::array({chat ? json{{"index", 0}, {"delta", json::object()}, {"logprobs", nullptr},
                                                  {"finish_reason", finish_reason_name(e.finish)}}
                                           : json{{"index", 0}, {"text", ""}, {"logprobs", nullptr},
                                                  {"finish_reason", finish_reason_name(e.finish)}}});
        fin["timings"] = timings_json(e);
        if (!send(fin)) return false;
        if (gen.include_usage) {
          json u = *chunk;
          u["choices"] = json::array();
          u["usage"] = usage_json(e);
          if (!send(u)) return false;
        }
        static constexpr char kDone[] = "data: [DONE]\n\n";
        sink.write(kDone, sizeof(kDone) - 1);
        sink.done();
        return true;
      },
      [stream](bool) { stream->cancel(); });  // a no-op once finished; frees the slot if the client left
}

std::string Server::Impl::metrics() {
  const EngineStats s = engine ? engine->stats() : EngineStats{};
  std::string out;
  const auto metric = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    out += fmt::format("# HELP bitlm_{0} {1}\n# TYPE bitlm_{0} {2}\nbitlm_{0} {3}\n", name, help, type, value);
  };
  {
    std::lock_guard lk(counters.mu);
    out += "# HELP bitlm_requests_total HTTP requests received, by route.\n# TYPE bitlm_requests_total counter\n";
    for (const auto& [route, n] : counters.requests) out += fmt::format("bitlm_requests_total{{route=\"{}\"}} {}\n", route, n);
  }
  metric("requests_finished_total", "counter", "Generation requests finished (any reason).", s.requests_done);
  metric("requests_rejected_total", "counter", "Generation requests answered 503 because the queue was full.",
         s.requests_rejected);
  metric("prompt_tokens_total", "counter", "Prompt tokens of admitted requests.", s.prompt_tokens);
  metric("generated_tokens_total", "counter", "Tokens generated.", s.generated_tokens);
  metric("steps_total", "counter", "Batched forward steps.", s.steps);
  metric("requests_queued", "gauge", "Requests waiting for a slot.", s.queued);
  metric("slots_busy", "gauge", "Slots holding a request.", s.busy_slots);
  metric("slots_total", "gauge", "Slots (--parallel).", s.n_slots);
  metric("decode_tokens_per_second", "gauge", "Tokens generated per second over the last 10 s of steps.",
         s.decode_tokens_per_s);
  metric("ready", "gauge", "1 once the model is loaded.", ready.load() ? 1 : 0);
  return out;
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) { impl_->opt = std::move(options); }

Server::~Server() { stop(); }

int Server::start() {
  Impl& s = *impl_;
  // A client gone mid-response must not kill the process: httplib writes with plain send().
  signal(SIGPIPE, SIG_IGN);
  // Streaming requests hold a thread while they run or wait in the queue: enough for all of
  // them and a few short requests (health, metrics) beside.
  const size_t n_http_threads = size_t(s.opt.n_parallel + s.opt.max_queue + 8);
  s.http.new_task_queue = [n_http_threads] { return new httplib::ThreadPool(n_http_threads); };
  s.http.set_payload_max_length(s.opt.max_body_bytes);
  s.http.set_read_timeout(s.opt.read_timeout_s);
  s.http.set_write_timeout(30);
  s.http.set_keep_alive_timeout(5);
  s.routes();
  // httplib listens with a backlog of 5: on a loaded machine its accept thread falls behind a
  // burst of connections, the kernel drops their SYNs and each client stalls 1-3 s in connect().
  // The socket option hook (which replaces httplib's SO_REUSEADDR) keeps the fd to listen again.
  int listen_fd = -1;
  s.http.set_socket_options([&listen_fd](int fd) {
    const int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = fd;
  });
  s.port = s.opt.port == 0 ? s.http.bind_to_any_port(s.opt.host) : (s.http.bind_to_port(s.opt.host, s.opt.port) ? s.opt.port : -1);
  if (s.port <= 0)
    throw UserError(fmt::format("cannot listen on {}:{} (in use, or not an address of this machine)", s.opt.host,
                                s.opt.port));
  if (listen_fd >= 0) ::listen(listen_fd, 1024);
  s.http_thread = std::thread([&s] {
    s.http.listen_after_bind();
    s.listen_returned.store(true);
  });
  // httplib's stop() does nothing until listen_after_bind has marked the server running: a stop()
  // right after start() (a model that fails to load) left the thread accepting forever, and the
  // process hung instead of exiting 2. Wait until it runs (or has already given up).
  while (!s.http.is_running() && !s.listen_returned.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return s.port;
}

void Server::load() {
  Impl& s = *impl_;
  s.model = Model::load(s.opt.model_path);
  s.tok = Tokenizer::from_gguf(*s.model->file);
  s.family = resolve_chat_template(s.opt.chat_template, read_chat_template(*s.model->file));
  s.model_id = s.opt.alias.empty() ? std::filesystem::path(s.opt.model_path).filename().string() : s.opt.alias;
  const int64_t n_ctx = s.opt.n_ctx > 0 ? s.opt.n_ctx : std::min<int64_t>(s.model->config.n_ctx_train, 4096);
  BITLM_CHECK(n_ctx >= 2, "-c {}: the context must hold at least 2 tokens", n_ctx);
  BITLM_CHECK(s.opt.n_parallel >= 1 && s.opt.n_parallel <= 1024, "--parallel {} must be in [1, 1024]", s.opt.n_parallel);
  BITLM_CHECK(s.opt.max_queue >= 0, "--queue {} must be >= 0", s.opt.max_queue);
  s.pool = std::make_unique<ThreadPool>(s.opt.n_threads > 0 ? s.opt.n_threads : default_thread_count());
  EngineOptions eo;
  eo.n_parallel = s.opt.n_parallel;
  eo.n_ctx = n_ctx;
  eo.max_queue = s.opt.max_queue;
  eo.max_batch = s.opt.max_batch;
  eo.kv_type = s.opt.kv_type;
  eo.commit_kv = s.opt.commit_kv;
  eo.act = s.opt.act;
  s.engine = std::make_unique<BatchEngine>(*s.model, *s.tok, *s.pool, eo);
  s.ready.store(true);
}

void Server::stop() {
  Impl& s = *impl_;
  std::call_once(s.stopped, [&s] {
    if (s.engine) s.engine->shutdown();  // streams end with an error event; their threads return
    s.http.stop();
    if (s.http_thread.joinable()) s.http_thread.join();
  });
}

int Server::port() const { return impl_->port; }

int run_server(const ServerOptions& options) {
  // SIGINT / SIGTERM wait for sigwait below: blocked here, before any thread starts, so that no
  // other thread takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  Server server(options);
  const int port = server.start();
  fmt::print(stderr, "bitlm serve: loading {}\n", options.model_path);
  server.load();
  fmt::print(stderr, "bitlm serve: listening on http://{}:{} (chat page at /, OpenAI API at /v1)\n", options.host, port);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  fmt::print(stderr, "bitlm serve: {} received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  server.stop();
  return 0;
}

}  // namespace bitlm
