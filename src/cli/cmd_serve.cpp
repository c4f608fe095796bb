// cli/cmd_serve.cpp — `bitlm serve`: the OpenAI API, continuous batching and a chat page over
// HTTP (serve/server.h); runs until SIGINT or SIGTERM, then exits 0.
#include "cli/commands.h"
#include "model/kv_cache.h"
#include "serve/server.h"

namespace bitlm::cli {
namespace {

struct ServeArgs {
  ServerOptions o;
  std::string kv_type = "f16", act = "int8";
  int64_t max_body_kib = 1024;
};

void setup(CLI::App& root) {
  auto a = std::make_shared<ServeArgs>();
  ServerOptions& o = a->o;
  CLI::App* c = root.add_subcommand("serve", "serve a model over HTTP: the OpenAI API (/v1/completions, "
                                             "/v1/chat/completions), continuous batching, a chat page at /");
  c->add_option("-m,--model", o.model_path, "model GGUF file")->required();
  c->add_option("--host", o.host, "address to listen on")->capture_default_str();
  c->add_option("--port", o.port, "port to listen on")->capture_default_str()->check(in_range(0, 65535));
  c->add_option("-c,--ctx-size", o.n_ctx, "context per slot, prompt and reply (default: the model's, at most 4096)")
      ->check(at_least(0));
  c->add_option("--parallel", o.n_parallel, "requests decoding together (slots)")
      ->capture_default_str()->check(in_range(1, 1024));
  c->add_option("--queue", o.max_queue, "requests waiting for a slot; more are answered 503")
      ->capture_default_str()->check(at_least(0));
  c->add_option("-b,--batch-size", o.max_batch, "rows per batched step (decode rows + prompt rows)")
      ->capture_default_str()->check(in_range(1, 4096));
  c->add_option("-t,--threads", o.n_threads, "threads (0: every CPU this process may run on)")->check(at_least(0));
  add_kv_type_option(c, a->kv_type);
  c->add_flag("--kv-commit", o.commit_kv, "make every slot's whole KV cache resident at start-up (else its pages "
                                          "are taken as its sequences grow): the RSS of a full load from the start");
  c->add_option("--act", a->act, "activations: int8 (003 eq. 6-7) or none (full precision)")
      ->check(CLI::IsMember({"int8", "none"}));
  c->add_option("--api-key", o.api_key, "require 'Authorization: Bearer KEY' on every route but / and /health");
  c->add_option("--chat-template", o.chat_template,
                "chatml | llama3 | llama2 | bitnet | plain, or a file holding a template (default: the model's "
                "tokenizer.chat_template, else plain)");
  c->add_option("--alias", o.alias, "model id in /v1/models and responses (default: the file's name)");
  c->add_option("--max-body", a->max_body_kib, "largest request body, KiB; larger is answered 413")
      ->capture_default_str()->check(in_range(1, 1 << 20));
  c->add_option("--timeout", o.read_timeout_s, "seconds a client may take to send its request")
      ->capture_default_str()->check(in_range(1, 3600));
  c->callback([a] {
    ServerOptions o = a->o;
    o.kv_type = parse_kv_type(a->kv_type);
    o.act = a->act == "none" ? ActMode::kNone : ActMode::kInt8;
    o.n_threads = thread_count(o.n_threads);
    o.max_body_bytes = size_t(a->max_body_kib) << 10;
    run_server(o);
  });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
