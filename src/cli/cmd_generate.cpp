// cli/cmd_generate.cpp — `bitlm generate`: streams generated text to stdout; progress and one
// final timings line (prompt t/s, generation t/s) to stderr.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>

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
  std::string model, prompt, act = "int8", numerics = "paper", kv_type = "f16";
  int64_t n_predict = 64, n_ctx = 0;
  int threads = 0;
  SamplerParams sampling;
};

void run_generate(const GenerateArgs& a) {
  const auto model = Model::load(a.model);
  const auto tok = Tokenizer::from_gguf(*model->file);
  const int64_t n_ctx = a.n_ctx > 0 ? a.n_ctx : std::min<int64_t>(model->config.n_ctx_train, 4096);
  ThreadPool pool(thread_count(a.threads));
  Forward fwd(*model, n_ctx, pool, a.act == "none" ? ActMode::kNone : ActMode::kInt8, 32, parse_kv_type(a.kv_type));
  fwd.set_numerics(PeerNumerics::parse(a.numerics));
  const GenerateStats s = generate_text(fwd, *tok, a.prompt, a.n_predict, a.sampling, [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  std::fputc('\n', stdout);
  std::fflush(stdout);  // before the timings line on stderr, when both go to one terminal or file
  fmt::print(stderr, "prompt: {} tokens, {:.2f} t/s | generation: {} tokens, {:.2f} t/s | threads {} | "
                     "peak RSS {:.0f} MiB\n",
             s.n_prompt, s.prompt_tokens_per_s(), s.n_generated, s.generate_tokens_per_s(), pool.n_threads(),
             double(peak_rss_bytes()) / (1 << 20));
}

void setup(CLI::App& root) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* c = root.add_subcommand("generate", "generate text from a prompt");
  c->add_option("-m,--model", a->model, "model GGUF file")->required();
  c->add_option("-p,--prompt", a->prompt, "prompt text")->required();
  c->add_option("-n,--n-predict", a->n_predict, "tokens to generate")->check(CLI::NonNegativeNumber);
  c->add_option("-t,--threads", a->threads, "threads (default: all available)")->check(CLI::NonNegativeNumber);
  c->add_option("-c,--ctx-size", a->n_ctx, "context size (default: the model's, at most 4096)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--temp", a->sampling.temperature, "temperature (0 = greedy)");
  c->add_option("--top-k", a->sampling.top_k, "top-k (0 = off)");
  c->add_option("--top-p", a->sampling.top_p, "top-p (1 = off)");
  c->add_option("--min-p", a->sampling.min_p, "min-p (0 = off)");
  c->add_option("--repeat-penalty", a->sampling.repeat_penalty, "repetition penalty (1 = off)");
  c->add_option("--repeat-last-n", a->sampling.repeat_last_n, "tokens the penalty looks back on (-1 = all)");
  c->add_option("--seed", a->sampling.seed, "sampling seed");
  c->add_option("--numerics", a->numerics,
                 "paper (default, 003's math) | llama.cpp | bitnet.cpp (the peers' rounding: Q8_K activations, "
                 "f16 Q, f16 softmax or flash attention, Q8_0 head input) | a list of "
                 "q8k,q-f16,probs-f16,flash-f16,head-q8_0");
  c->add_option("--act", a->act, "activations: int8 (003 eq. 6-7) or none (full precision)")
      ->check(CLI::IsMember({"int8", "none"}));
  add_kv_type_option(c, a->kv_type);
  c->callback([a] { run_generate(*a); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
