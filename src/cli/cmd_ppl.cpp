// cli/cmd_ppl.cpp — `bitlm ppl`: perplexity of a text file, llama-perplexity's chunked method
// (--llama-chunks, the default without --stride) or a sliding window (--stride S).
#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/sys.h"
#include "core/thread_pool.h"
#include "eval/model_scorer.h"
#include "eval/perplexity.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace bitlm::cli {
namespace {

struct PplArgs {
  std::string model, text_file, act = "int8", numerics = "paper", kv_type = "f16";
  int64_t n_ctx = 0, stride = 0;
  int threads = 0;
  bool llama_chunks = false;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open the text file", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void run_ppl(const PplArgs& a) {
  BITLM_CHECK(!(a.llama_chunks && a.stride > 0), "--llama-chunks and --stride exclude each other");
  const std::string text = read_text(a.text_file);
  if (text.empty()) throw UserError(fmt::format("{}: no text to score (the file is empty)", a.text_file));
  const auto model = Model::load(a.model);
  const int64_t n_ctx = context_size(a.n_ctx, 512, model->config.n_ctx_train, a.model);
  const auto tok = Tokenizer::from_gguf(*model->file);
  const std::vector<int32_t> ids = tok->encode(text, /*add_bos=*/true);
  ThreadPool pool(thread_count(a.threads));
  Forward fwd(*model, n_ctx, pool, a.act == "none" ? ActMode::kNone : ActMode::kInt8, kPromptStep,
              parse_kv_type(a.kv_type));
  fwd.set_numerics(PeerNumerics::parse(a.numerics));
  const double t0 = now_seconds();
  std::unique_ptr<ProgressBar> bar;
  PerplexityOptions o;
  o.n_ctx = n_ctx;
  o.stride = a.stride;
  o.on_progress = [&](int64_t done, int64_t total) {
    if (!bar) bar = std::make_unique<ProgressBar>("ppl", total);
    bar->update(done);
  };
  // ids start with BOS: the sliding window's first window scores everything after it.
  const std::vector<LoglikelihoodRequest> windows =
      a.stride > 0 ? perplexity_windows(ids, o) : llama_chunk_windows(ids, n_ctx, tok->bos());
  ModelScorer scorer(fwd);
  const PerplexityStats r = score_windows(windows, scorer, o);
  bar.reset();
  if (r.n_tokens == 0) throw UserError(fmt::format("{}: no token to score", a.text_file));
  fmt::print("perplexity {:.6g} over {} scored tokens ({} tokens in the text, ctx {}, {}), {:.1f} s\n", r.perplexity(),
             r.n_tokens, ids.size(), n_ctx, a.stride > 0 ? fmt::format("stride {}", a.stride) : "llama chunks",
             now_seconds() - t0);
}

void setup(CLI::App& root) {
  auto a = std::make_shared<PplArgs>();
  CLI::App* c = root.add_subcommand("ppl", "perplexity of a text file");
  c->add_option("-m,--model", a->model, "model GGUF file")->required();
  c->add_option("-f,--file", a->text_file, "text file")->required();
  c->add_option("-c,--ctx-size", a->n_ctx, "context (chunk or window) size (0: 512 as llama-perplexity, at most the model's training context)")
      ->check(at_least(0));
  c->add_option("--stride", a->stride, "sliding-window stride, at most the context minus 1 (0: llama-perplexity chunks)")
      ->check(at_least(0));
  c->add_flag("--llama-chunks", a->llama_chunks, "llama-perplexity's method (the default)");
  c->add_option("-t,--threads", a->threads, "threads (0: every CPU this process may run on)")->check(at_least(0));
  c->add_option("--numerics", a->numerics,
                 "paper (default, 003's math) | llama.cpp | bitnet.cpp (the peers' rounding: Q8_K activations, "
                 "f16 Q, f16 softmax or flash attention, Q8_0 head input) | a list of "
                 "q8k,q-f16,probs-f16,flash-f16,head-q8_0");
  c->add_option("--act", a->act, "activations: int8 or none")->check(CLI::IsMember({"int8", "none"}));
  add_kv_type_option(c, a->kv_type);
  c->callback([a] { run_ppl(*a); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
