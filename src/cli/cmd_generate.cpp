// cli/cmd_generate.cpp — `bitlm generate`: streams generated text to stdout; one final timings line
// (prompt t/s, generation t/s, the seed) to stderr. The prompt comes from -p TEXT, -f FILE, or
// stdin (-f -, or neither when stdin is not a terminal). --json prints one object instead: the text,
// the token ids, the timings and the seed.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/sys.h"
#include "core/thread_pool.h"
#include "model/generate.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace bitlm::cli {
namespace {

struct GenerateArgs {
  std::string model, prompt, prompt_file, act = "int8", numerics = "paper", kv_type = "f16";
  int64_t n_predict = 64, n_ctx = 0;
  int threads = 0;
  bool prompt_given = false, seed_given = false, json = false;
  SamplerParams sampling;
};

// One trailing newline is dropped, as llama.cpp does with -f: files and echo end with one.
std::string read_prompt(const GenerateArgs& a) {
  if (a.prompt_given || (a.prompt_file.empty() && isatty(STDIN_FILENO))) return a.prompt;
  std::string text;
  if (a.prompt_file.empty() || a.prompt_file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(a.prompt_file, std::ios::binary);
    if (!in) throw IoError(fmt::format("{}: cannot open the prompt file", a.prompt_file));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// 0.95f as 0.95, not 0.949999988079071: the float's shortest decimal, read back as a double.
double shortest(float v) { return std::stod(fmt::format("{}", v)); }

const char* stop_reason(const GenerateStats& s, bool ended, Forward& fwd, int64_t n_predict) {
  if (ended) return "eos";
  if (s.n_generated >= n_predict) return "length";
  return fwd.kv().n_pos() >= fwd.n_ctx() ? "context" : "length";
}

void run_generate(GenerateArgs a) {
  const std::string prompt = read_prompt(a);
  if (prompt.empty())
    throw UserError("generate: no prompt: give -p TEXT, -f FILE, or a prompt on stdin (-f -)");
  if (!a.seed_given) a.sampling.seed = random_seed();
  const auto model = Model::load(a.model);
  const auto tok = Tokenizer::from_gguf(*model->file);
  const int64_t n_ctx = context_size(a.n_ctx, 4096, model->config.n_ctx_train, a.model);
  ThreadPool pool(thread_count(a.threads));
  Forward fwd(*model, n_ctx, pool, a.act == "none" ? ActMode::kNone : ActMode::kInt8, kPromptStep, parse_kv_type(a.kv_type));
  fwd.set_numerics(PeerNumerics::parse(a.numerics));
  const std::vector<int32_t> prompt_ids = tok->encode(prompt, /*add_bos=*/true);
  std::vector<int32_t> ids;
  std::string text;
  bool ended = false;
  const GenerateStats s = generate_tokens(
      fwd, prompt_ids, a.n_predict, a.sampling,
      [&](int32_t id) { return ended = tok->is_end_of_generation(id); },
      [&](int32_t id) {
        const std::string piece = tok->token_bytes(id);
        ids.push_back(id);
        if (a.json) {
          text += piece;
        } else {
          std::fwrite(piece.data(), 1, piece.size(), stdout);
          std::fflush(stdout);
        }
        return true;
      });
  if (a.json) {
    const nlohmann::ordered_json j = {
        {"model", a.model}, {"prompt", prompt}, {"text", text}, {"tokens", ids}, {"prompt_tokens", prompt_ids},
        {"n_prompt", s.n_prompt}, {"n_generated", s.n_generated}, {"stop", stop_reason(s, ended, fwd, a.n_predict)},
        {"seed", a.sampling.seed}, {"n_ctx", n_ctx}, {"threads", pool.n_threads()},
        {"timings", {{"prompt_ms", 1e3 * s.prompt_s}, {"generate_ms", 1e3 * s.generate_s},
                     {"prompt_tokens_per_s", s.prompt_tokens_per_s()},
                     {"generate_tokens_per_s", s.generate_tokens_per_s()},
                     {"peak_rss_bytes", peak_rss_bytes()}}},
        {"sampling", {{"temp", shortest(a.sampling.temperature)}, {"top_k", a.sampling.top_k},
                      {"top_p", shortest(a.sampling.top_p)}, {"min_p", shortest(a.sampling.min_p)},
                      {"repeat_penalty", shortest(a.sampling.repeat_penalty)},
                      {"repeat_last_n", a.sampling.repeat_last_n}}}};
    // A token may end inside a UTF-8 sequence (n_predict reached): replace rather than throw.
    fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
    return;
  }
  std::fputc('\n', stdout);
  std::fflush(stdout);  // before the timings line on stderr, when both go to one terminal or file
  fmt::print(stderr, "prompt: {} tokens, {:.2f} t/s | generation: {} tokens, {:.2f} t/s | threads {} | "
                     "peak RSS {:.0f} MiB | seed {}\n",
             s.n_prompt, s.prompt_tokens_per_s(), s.n_generated, s.generate_tokens_per_s(), pool.n_threads(),
             double(peak_rss_bytes()) / (1 << 20), a.sampling.seed);
}

void setup(CLI::App& root) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* c = root.add_subcommand("generate", "generate text from a prompt");
  c->add_option("-m,--model", a->model, "model GGUF file")->required();
  CLI::Option* p = c->add_option("-p,--prompt", a->prompt, "prompt text");
  c->add_option("-f,--file", a->prompt_file, "read the prompt from this file ('-': stdin; stdin is also read "
                                              "when neither -p nor -f is given and it is not a terminal)")
      ->excludes(p);
  c->add_option("-n,--n-predict", a->n_predict, "tokens to generate")->check(at_least(0));
  c->add_option("-t,--threads", a->threads, "threads (0: every CPU this process may run on)")->check(at_least(0));
  c->add_option("-c,--ctx-size", a->n_ctx, "context size (0: the model's training context, at most 4096)")
      ->check(at_least(0));
  add_sampling_options(c, a->sampling, a->seed_given);
  c->add_flag("--json", a->json, "print one JSON object (text, token ids, timings, seed) instead of streaming text");
  c->add_option("--numerics", a->numerics,
                 "paper (003's math) | llama.cpp | bitnet.cpp (the peers' rounding: Q8_K activations, "
                 "f16 Q, f16 softmax or flash attention, Q8_0 head input) | a list of "
                 "q8k,q-f16,probs-f16,flash-f16,head-q8_0");
  c->add_option("--act", a->act, "activations: int8 (003 eq. 6-7) or none (full precision)")
      ->check(CLI::IsMember({"int8", "none"}));
  add_kv_type_option(c, a->kv_type);
  c->callback([a, p] {
    a->prompt_given = p->count() > 0;
    run_generate(*a);
  });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
