// serve/server.h — `bitlm serve`: the OpenAI API over HTTP (cpp-httplib), on the BatchEngine.
//   POST /v1/completions, /v1/chat/completions   (stream: server-sent events, then data: [DONE])
//   GET  /v1/models, /health (503 until the model is loaded), /metrics (Prometheus text)
//   POST /tokenize, /detokenize                  (llama-server's shapes)
//   GET  /                                       the chat page (chat.html, compiled in)
// Every error is a 4xx/5xx with the OpenAI error body (serve/api_error.h). Binds 127.0.0.1 by
// default; with an API key every route but / and /health needs "Authorization: Bearer KEY".
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "model/forward.h"

namespace bitlm {

struct ServerOptions {
  std::string model_path;
  std::string host = "127.0.0.1";
  int port = 8080;                 // 0: any free port (tests)
  int64_t n_ctx = 0;               // positions per slot; 0: the model's training context
  int64_t n_parallel = 4;          // slots decoding together
  int64_t max_queue = 64;          // requests waiting for a slot before 503s
  int64_t max_batch = 64;          // rows per batched step
  int n_threads = 0;               // 0: every CPU the process may run on
  KvCacheType kv_type = KvCacheType::kF16;
  bool commit_kv = false;          // every slot's whole KV cache resident from start-up
  ActMode act = ActMode::kInt8;
  std::string api_key;             // empty: no authentication
  std::string chat_template;       // --chat-template NAME|FILE; empty: the model's, else plain
  std::string alias;               // the model id in /v1/models; empty: the file's name
  size_t max_body_bytes = size_t(1) << 20;
  int read_timeout_s = 10;         // a request must arrive within this (slow clients)
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port and starts answering on a thread (/health: 503 "loading"); returns the port.
  // Throws UserError when the address cannot be bound.
  int start();
  // Loads the model, resolves the chat template and starts the engine; throws UserError naming
  // the file or the template. Afterwards every route answers.
  void load();
  // Stops accepting, cancels queued and running requests, joins every thread. Idempotent.
  void stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `bitlm serve`: start, load, then serve until SIGINT or SIGTERM; stops cleanly and returns 0.
int run_server(const ServerOptions& options);

// The chat page's HTML (serve/chat.html).
std::string_view chat_page_html();

}  // namespace bitlm
