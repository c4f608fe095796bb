// model/generate.cpp — see generate.h.
#include "model/generate.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/sys.h"
#include "tokenizer/tokenizer.h"

namespace bitlm {

GenerateStats generate_tokens(Forward& fwd, std::span<const int32_t> prompt, int64_t n_predict,
                              const SamplerParams& sampling,
                              const std::function<bool(int32_t)>& is_end,
                              const std::function<bool(int32_t)>& on_token) {
  if (prompt.empty()) throw UserError("the prompt is empty (no tokens)");
  if (int64_t(prompt.size()) >= fwd.n_ctx())
    throw UserError(fmt::format("prompt has {} tokens but the context is {}", prompt.size(), fwd.n_ctx()));
  GenerateStats s;
  s.n_prompt = int64_t(prompt.size());
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  history.reserve(size_t(fwd.n_ctx()));
  Sampler sampler(sampling, fwd.config().n_vocab);

  fwd.kv().clear();
  double t0 = now_seconds();
  fwd.eval(prompt);
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

GenerateStats generate_text(Forward& fwd, const Tokenizer& tok, std::string_view prompt,
                            int64_t n_predict, const SamplerParams& sampling,
                            const std::function<bool(std::string_view)>& on_piece) {
  const std::vector<int32_t> ids = tok.encode(prompt, /*add_bos=*/true);
  return generate_tokens(
      fwd, ids, n_predict, sampling, [&](int32_t id) { return tok.is_end_of_generation(id); },
      [&](int32_t id) { return on_piece(tok.token_bytes(id)); });
}

}  // namespace bitlm
