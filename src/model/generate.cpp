// model/generate.cpp — see generate.h.
#include "model/generate.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "core/sys.h"
#include "tokenizer/tokenizer.h"

namespace bitlm {

namespace {

// Prefills prompt[reuse..] after the cache's first `reuse` rows, then samples and decodes.
GenerateStats run_generation(Forward& fwd, std::span<const int32_t> prompt, int64_t reuse, int64_t n_predict,
                             const SamplerParams& sampling, const std::function<bool(int32_t)>& is_end,
                             const std::function<bool(int32_t)>& on_token, std::vector<int32_t>& history) {
  if (prompt.empty()) throw UserError("the prompt is empty (no tokens)");
  if (int64_t(prompt.size()) >= fwd.n_ctx())
    throw UserError(fmt::format("prompt has {} tokens but the context is {}", prompt.size(), fwd.n_ctx()));
  GenerateStats s;
  s.n_reused = reuse;
  s.n_prompt = int64_t(prompt.size()) - reuse;
  history.assign(prompt.begin(), prompt.end());
  history.reserve(size_t(fwd.n_ctx()));
  Sampler sampler(sampling, fwd.config().n_vocab);

  fwd.kv().set_n_pos(reuse);
  double t0 = now_seconds();
  fwd.eval(prompt.subspan(size_t(reuse)));
  s.prompt_s = now_seconds() - t0;
  t0 = now_seconds();
  for (int64_t i = 0; i < n_predict; ++i) {
    const int32_t id = sampler.sample(fwd.last_logits(), history);
    if (is_end(id)) break;
    ++s.n_generated;
    history.push_back(id);
    if (!on_token(id) || fwd.kv().n_pos() >= fwd.n_ctx() || i + 1 == n_predict) break;
    if (s.n_generated == 1) t0 = now_seconds();  // decode speed excludes sampling the first token
    fwd.eval({&id, 1});
  }
  s.generate_s = now_seconds() - t0;
  return s;
}

}  // namespace

GenerateStats generate_tokens(Forward& fwd, std::span<const int32_t> prompt, int64_t n_predict,
                              const SamplerParams& sampling,
                              const std::function<bool(int32_t)>& is_end,
                              const std::function<bool(int32_t)>& on_token) {
  std::vector<int32_t> history;
  return run_generation(fwd, prompt, 0, n_predict, sampling, is_end, on_token, history);
}

GenerateStats generate_continuing(Forward& fwd, std::vector<int32_t>& cached, std::span<const int32_t> prompt,
                                  int64_t n_predict, const SamplerParams& sampling,
                                  const std::function<bool(int32_t)>& is_end,
                                  const std::function<bool(int32_t)>& on_token) {
  const size_t held = std::min(cached.size(), size_t(fwd.kv().n_pos()));
  size_t reuse = 0;
  while (reuse < held && reuse < prompt.size() && cached[reuse] == prompt[reuse]) ++reuse;
  if (reuse == prompt.size() && reuse > 0) --reuse;  // the last prompt token is run again for its logits
  cached.clear();  // the cache is rewound below: if the run throws, it holds nothing reusable
  std::vector<int32_t> history;
  GenerateStats s = run_generation(fwd, prompt, int64_t(reuse), n_predict, sampling, is_end, on_token, history);
  history.resize(size_t(fwd.kv().n_pos()));  // the last token sampled was not run
  cached = std::move(history);
  return s;
}

GenerateStats generate_text(Forward& fwd, const Tokenizer& tok, std::string_view prompt,
                            int64_t n_predict, const SamplerParams& sampling,
                            const std::function<bool(std::string_view)>& on_piece) {
  const std::vector<int32_t> ids = tok.encode(prompt, /*add_bos=*/true);
  return generate_tokens(
      fwd, ids, n_predict, sampling, [&](int32_t id) { return tok.is_end_of_generation(id); },
      [&](int32_t id) { return on_piece(tok.token_bytes(id)); });
}

}  // namespace bitlm
