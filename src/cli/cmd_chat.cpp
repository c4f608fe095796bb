// cli/cmd_chat.cpp — `bitlm chat`: an interactive conversation in the terminal. Each line read
// from stdin is a user message; the reply streams to stdout. The conversation is rendered with the
// model's chat template (tokenizer/chat_template.h: the family of its tokenizer.chat_template, or
// --chat-template; plain for a model without one, whose replies end at "\nUser:"), and each turn
// prefills only the tokens the KV cache does not already hold (generate_continuing). Lines that
// start with '/' are commands: /reset starts a new conversation, /exit (or end of input) ends.
// With stdin not a terminal it reads the messages from a pipe or file, one per line, and prints
// no "> " prompts: a scripted conversation.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/thread_pool.h"
#include "model/generate.h"
#include "model/model.h"
#include "serve/text_stream.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace bitlm::cli {
namespace {

struct ChatArgs {
  std::string model, system, chat_template, kv_type = "f16";
  int64_t n_predict = 256, n_ctx = 0;
  int threads = 0;
  bool seed_given = false;
  SamplerParams sampling;
};

std::string trimmed(std::string s) {
  const char* space = " \t\r\n";
  s.erase(0, s.find_first_not_of(space) == std::string::npos ? s.size() : s.find_first_not_of(space));
  s.erase(s.find_last_not_of(space) + 1);
  return s;
}

class ChatSession {
 public:
  ChatSession(const ChatArgs& a, const Model& model, const Tokenizer& tok, ThreadPool& pool, int64_t n_ctx)
      : a_(a), tok_(tok), family_(resolve_chat_template(a.chat_template, read_chat_template(*model.file))),
        fwd_(model, n_ctx, pool, ActMode::kInt8, kPromptStep, parse_kv_type(a.kv_type)), sampling_(a.sampling) {
    reset();
  }

  ChatFamily family() const { return family_; }

  void reset() {
    messages_.clear();
    if (!a_.system.empty()) messages_.push_back({"system", a_.system});
  }

  // Streams the reply to `user` to stdout and adds both to the conversation.
  void reply(const std::string& user) {
    messages_.push_back({"user", user});
    const std::vector<int32_t> prompt =
        tok_.encode(render_chat(family_, messages_), /*add_bos=*/true, /*parse_special=*/true);
    if (int64_t(prompt.size()) >= fwd_.n_ctx()) {
      messages_.pop_back();
      fmt::print(stderr, "bitlm chat: the conversation would be {} tokens, and the context is {}: /reset starts a "
                         "new one (or run with a larger -c)\n",
                 prompt.size(), fwd_.n_ctx());
      return;
    }
    std::vector<std::string> stops;
    if (const std::string_view s = plain_stop(family_); !s.empty()) stops.emplace_back(s);
    StopScanner scanner(std::move(stops));
    std::string text;
    const auto emit = [&text](const std::string& piece) {
      text += piece;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    };
    const GenerateStats s = generate_continuing(
        fwd_, cached_, prompt, a_.n_predict, sampling_, [&](int32_t id) { return tok_.is_end_of_generation(id); },
        [&](int32_t id) {
          emit(scanner.push(tok_.token_bytes(id)));
          return !scanner.stopped();
        });
    emit(scanner.flush());
    std::fputc('\n', stdout);
    std::fflush(stdout);
    messages_.push_back({"assistant", trimmed(text)});
    ++sampling_.seed;  // each turn its own draws, the whole conversation repeatable from --seed
    if (fwd_.kv().n_pos() >= fwd_.n_ctx())
      fmt::print(stderr, "bitlm chat: the context ({} tokens) is full: /reset starts a new conversation\n",
                 fwd_.n_ctx());
    n_prefilled_ += s.n_prompt;
    n_reused_ += s.n_reused;
  }

  int64_t n_prefilled() const { return n_prefilled_; }
  int64_t n_reused() const { return n_reused_; }

 private:
  const ChatArgs& a_;
  const Tokenizer& tok_;
  ChatFamily family_;
  Forward fwd_;
  SamplerParams sampling_;
  std::vector<ChatMessage> messages_;
  std::vector<int32_t> cached_;  // the tokens the KV cache holds
  int64_t n_prefilled_ = 0, n_reused_ = 0;
};

void run_chat(ChatArgs a) {
  if (!a.seed_given) a.sampling.seed = random_seed();
  const auto model = Model::load(a.model);
  const auto tok = Tokenizer::from_gguf(*model->file);
  const int64_t n_ctx = context_size(a.n_ctx, 4096, model->config.n_ctx_train, a.model);
  ThreadPool pool(thread_count(a.threads));
  ChatSession chat(a, *model, *tok, pool, n_ctx);
  const bool terminal = isatty(STDIN_FILENO);
  fmt::print(stderr, "bitlm chat: {} ({} template, context {}, seed {}); /reset starts over, /exit or Ctrl-D ends\n",
             a.model, chat_family_name(chat.family()), n_ctx, a.sampling.seed);
  int turns = 0;
  for (std::string line;;) {
    if (terminal) {
      std::fputs("> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    line = trimmed(line);
    if (line.empty()) continue;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      chat.reset();
      fmt::print(stderr, "bitlm chat: new conversation\n");
      continue;
    }
    if (line[0] == '/' && line.find(' ') == std::string::npos) {  // "/path/to x" is a message
      fmt::print(stderr, "bitlm chat: unknown command '{}' (/reset, /exit)\n", line);
      continue;
    }
    chat.reply(line);
    ++turns;
  }
  if (terminal) std::fputc('\n', stdout);
  fmt::print(stderr, "bitlm chat: {} turns; {} prompt tokens prefilled, {} reused from the cache\n", turns,
             chat.n_prefilled(), chat.n_reused());
}

void setup(CLI::App& root) {
  auto a = std::make_shared<ChatArgs>();
  CLI::App* c = root.add_subcommand("chat", "chat with a model in the terminal (one message per line; /reset, "
                                            "/exit)");
  c->add_option("-m,--model", a->model, "model GGUF file")->required();
  c->add_option("-s,--system", a->system, "system message that opens the conversation");
  c->add_option("--chat-template", a->chat_template,
                "chatml | llama3 | llama2 | bitnet | plain, or a file holding a template (default: the model's "
                "tokenizer.chat_template, else plain)");
  c->add_option("-n,--n-predict", a->n_predict, "most tokens per reply")->check(at_least(1));
  c->add_option("-t,--threads", a->threads, "threads (0: every CPU this process may run on)")->check(at_least(0));
  c->add_option("-c,--ctx-size", a->n_ctx, "context size (0: the model's training context, at most 4096)")
      ->check(at_least(0));
  add_sampling_options(c, a->sampling, a->seed_given);
  add_kv_type_option(c, a->kv_type);
  c->callback([a] { run_chat(*a); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
